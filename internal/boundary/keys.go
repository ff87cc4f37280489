package boundary

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// exactKeys reports the first object key in v (a JSON value decoded into any) that is not
// spelled exactly as a json field name of t, where t is the Go type the value decodes into.
// encoding/json matches keys case-insensitively ({"MirrorDeletes": true} sets mirrorDeletes), so
// without this check a misspelt key would silently count; with it, it is refused like an unknown
// key. Types with their own UnmarshalJSON or UnmarshalText, interfaces and raw messages decide for
// themselves and are not looked into.
func exactKeys(v any, t reflect.Type, path string) (key string, ok bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if ownDecoding(t) {
		return "", true
	}
	switch x := v.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Struct:
			fields := fieldsOf(t)
			for k, fv := range x {
				ft, known := fields[k]
				if !known {
					return path + k, false
				}
				if key, ok := exactKeys(fv, ft, path+k+"."); !ok {
					return key, false
				}
			}
		case reflect.Map:
			for k, fv := range x {
				if key, ok := exactKeys(fv, t.Elem(), path+k+"."); !ok {
					return key, false
				}
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for _, e := range x {
				if key, ok := exactKeys(e, t.Elem(), path); !ok {
					return key, false
				}
			}
		}
	}
	return "", true
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func ownDecoding(t reflect.Type) bool {
	if t.Kind() == reflect.Interface {
		return true
	}
	p := reflect.PointerTo(t)
	return t.Implements(jsonUnmarshaler) || p.Implements(jsonUnmarshaler) ||
		(t.Kind() != reflect.Map && (t.Implements(textUnmarshaler) || p.Implements(textUnmarshaler)))
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// fieldsOf maps the JSON names of t's fields to their types, as encoding/json names them: the tag
// name, else the Go name; "-" skipped; untagged embedded structs inlined.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	addFields(t, m, map[reflect.Type]bool{})
	fieldCache.Store(t, m)
	return m
}

func addFields(t reflect.Type, m map[string]reflect.Type, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(ft, m, seen)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := m[name]; !dup {
			m[name] = f.Type
		}
	}
}
