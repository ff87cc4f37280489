package asl

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// template is a compiled payload template (Parameters, ItemSelector,
// ResultSelector): a JSON value whose object keys ending in ".$" take their
// value from a path or an intrinsic function.
type template struct {
	lit    any // the literal value, when static
	fields []tfield
	items  []*template
	kind   byte // 'l' literal, 'o' object, 'a' array
}

type tfield struct {
	key  string
	path *path
	call *intrinsic
	sub  *template
	src  string // the expression as written, for errors
}

// dynamicExpr compiles the value of a ".$" field or of ErrorPath/CausePath:
// a path or an intrinsic function call.
func dynamicExpr(s string) (*path, *intrinsic, error) {
	switch {
	case strings.HasPrefix(s, "$"):
		p, err := compilePath(s)
		return p, nil, err
	case strings.HasPrefix(s, "States."):
		c, err := parseIntrinsic(s)
		return nil, c, err
	}
	return nil, nil, fmt.Errorf("%q is neither a path nor an intrinsic function", s)
}

func compileTemplate(v any) (*template, error) {
	switch v := v.(type) {
	case map[string]any:
		t := &template{kind: 'o'}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // deterministic errors
		for _, k := range keys {
			fv := v[k]
			if name, ok := strings.CutSuffix(k, ".$"); ok {
				s, isStr := fv.(string)
				if !isStr {
					return nil, fmt.Errorf("field %q must be a string, got %s", k, typeName(fv))
				}
				p, c, err := dynamicExpr(s)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", k, err)
				}
				t.fields = append(t.fields, tfield{key: name, path: p, call: c, src: s})
				continue
			}
			sub, err := compileTemplate(fv)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			t.fields = append(t.fields, tfield{key: k, sub: sub})
		}
		return t, nil
	case []any:
		t := &template{kind: 'a'}
		for i, item := range v {
			sub, err := compileTemplate(item)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			t.items = append(t.items, sub)
		}
		return t, nil
	}
	return &template{kind: 'l', lit: v}, nil
}

// eval builds the payload from input and the context object.
func (t *template) eval(input, ctxObj any) (any, *stateErr) {
	switch t.kind {
	case 'o':
		out := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			switch {
			case f.sub != nil:
				v, err := f.sub.eval(input, ctxObj)
				if err != nil {
					return nil, err
				}
				out[f.key] = v
			case f.path != nil:
				v, ok := f.path.eval(input, ctxObj)
				if !ok {
					return nil, newErr(ErrorRuntime, "The JSONPath '%s' specified for the field '%s.$' could not be found in the input '%s'",
						f.src, f.key, encodeJSON(input))
				}
				out[f.key] = v
			default:
				v, err := f.call.eval(input, ctxObj)
				if err != nil {
					return nil, evalErr(err, f.key+".$")
				}
				out[f.key] = v
			}
		}
		return out, nil
	case 'a':
		out := make([]any, len(t.items))
		for i, it := range t.items {
			v, err := it.eval(input, ctxObj)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return t.lit, nil
}

// evalErr names an error from evaluating an intrinsic function.
func evalErr(err error, field string) *stateErr {
	var pe *pathError
	if errors.As(err, &pe) {
		return newErr(ErrorRuntime, "%v (field %s)", err, field)
	}
	return newErr(ErrorIntrinsicFailure, "field %s: %v", field, err)
}

// evalExpr evaluates a path or intrinsic compiled by dynamicExpr.
func evalExpr(p *path, c *intrinsic, input, ctxObj any, field string) (any, *stateErr) {
	if p != nil {
		v, ok := p.eval(input, ctxObj)
		if !ok {
			return nil, newErr(ErrorRuntime, "The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'",
				p.src, field, encodeJSON(input))
		}
		return v, nil
	}
	v, err := c.eval(input, ctxObj)
	if err != nil {
		return nil, evalErr(err, field)
	}
	return v, nil
}
