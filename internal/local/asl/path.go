package asl

import (
	"fmt"
	"strings"

	"github.com/theory/jsonpath"
	"github.com/theory/jsonpath/spec"
)

// path is a compiled ASL Path: a JSONPath over the state input ("$…") or over
// the context object ("$$…").
type path struct {
	src      string
	context  bool
	q        *jsonpath.Path
	singular bool
}

func compilePath(s string) (*path, error) {
	p := &path{src: s}
	expr := s
	if strings.HasPrefix(s, "$$") {
		p.context = true
		expr = s[1:]
	}
	if !strings.HasPrefix(expr, "$") {
		return nil, fmt.Errorf("path %q must start with $ or $$", s)
	}
	q, err := jsonpath.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", s, err)
	}
	p.q = q
	p.singular = q.Query().Singular() != nil
	return p, nil
}

// compileReferencePath compiles a Reference Path: a path that identifies a
// single node by names and indexes only, as ResultPath and ItemsPath require.
func compileReferencePath(s string) (*path, error) {
	p, err := compilePath(s)
	if err != nil {
		return nil, err
	}
	if p.context {
		return nil, fmt.Errorf("reference path %q cannot use the context object", s)
	}
	for _, seg := range p.q.Query().Segments() {
		if seg.IsDescendant() || len(seg.Selectors()) != 1 {
			return nil, fmt.Errorf("reference path %q must select a single node", s)
		}
		switch seg.Selectors()[0].(type) {
		case spec.Name, spec.Index:
		default:
			return nil, fmt.Errorf("reference path %q must use only names and indexes", s)
		}
	}
	return p, nil
}

func (p *path) String() string { return p.src }

// eval selects from input (or from the context object for "$$" paths). A
// singular path yields its node, or ok=false when nothing matches; any other
// path yields the array of matched nodes, as Step Functions does.
func (p *path) eval(input, ctxObj any) (v any, ok bool) {
	root := input
	if p.context {
		root = ctxObj
	}
	nodes := p.q.Select(root)
	if p.singular {
		if len(nodes) == 0 {
			return nil, false
		}
		return nodes[0], true
	}
	out := make([]any, len(nodes))
	copy(out, nodes)
	return out, true
}

// set returns a copy of root with value placed at reference path p, creating
// missing objects on the way. Only the containers along the path are copied,
// so root itself is never modified.
func (p *path) set(root, value any) (any, error) {
	segs := p.q.Query().Segments()
	if len(segs) == 0 {
		return value, nil
	}
	var setAt func(cur any, i int) (any, error)
	setAt = func(cur any, i int) (any, error) {
		if i == len(segs) {
			return value, nil
		}
		switch sel := segs[i].Selectors()[0].(type) {
		case spec.Name:
			var m map[string]any
			switch c := cur.(type) {
			case map[string]any:
				m = make(map[string]any, len(c)+1)
				for k, v := range c {
					m[k] = v
				}
			case nil:
				// Missing intermediate objects are created.
				m = map[string]any{}
			default:
				return nil, fmt.Errorf("cannot apply %s: %s is not an object", p.src, typeName(cur))
			}
			child, err := setAt(m[string(sel)], i+1)
			if err != nil {
				return nil, err
			}
			m[string(sel)] = child
			return m, nil
		case spec.Index:
			a, ok := cur.([]any)
			if !ok {
				return nil, fmt.Errorf("cannot apply %s: %s is not an array", p.src, typeName(cur))
			}
			idx := int(sel)
			if idx < 0 {
				idx += len(a)
			}
			if idx < 0 || idx >= len(a) {
				return nil, fmt.Errorf("cannot apply %s: index out of range", p.src)
			}
			c := make([]any, len(a))
			copy(c, a)
			child, err := setAt(c[idx], i+1)
			if err != nil {
				return nil, err
			}
			c[idx] = child
			return c, nil
		}
		return nil, fmt.Errorf("cannot apply %s", p.src)
	}
	// A missing top-level object is an error; a missing nested one is created.
	if _, ok := root.(map[string]any); !ok {
		if _, isArr := root.([]any); !isArr {
			return nil, fmt.Errorf("cannot apply %s: input is %s, not an object", p.src, typeName(root))
		}
	}
	return setAt(root, 0)
}
