package asl

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// choiceRule is a compiled Choice Rule: a comparison of Variable, or a
// boolean combination (And, Or, Not) of nested rules.
type choiceRule struct {
	variable  *path
	op        string // comparator, e.g. "StringEquals", "IsPresent"
	value     any    // literal operand
	valuePath *path  // operand of a ...Path comparator
	and, or   []*choiceRule
	not       *choiceRule
	next      string // top-level rules only
}

var comparators = func() map[string]string {
	m := map[string]string{} // comparator → operand kind
	for _, op := range []string{"Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"} {
		m["String"+op] = "string"
		m["Numeric"+op] = "number"
		m["Timestamp"+op] = "timestamp"
	}
	m["StringMatches"] = "string"
	m["BooleanEquals"] = "boolean"
	for _, t := range []string{"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"} {
		m[t] = "boolean"
	}
	return m
}()

// parseChoiceRule compiles one rule; top says whether it is a top-level rule,
// which must have Next, while nested rules must not.
func parseChoiceRule(raw map[string]any, top bool) (*choiceRule, error) {
	r := &choiceRule{}
	var kinds []string
	for k, v := range raw {
		switch k {
		case "Comment":
			if _, ok := v.(string); !ok {
				return nil, fmt.Errorf("Comment must be a string")
			}
		case "Next":
			if !top {
				return nil, fmt.Errorf("a nested choice rule cannot have Next")
			}
			s, ok := v.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("Next must be a non-empty string")
			}
			r.next = s
		case "Variable":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("Variable must be a string")
			}
			p, err := compilePath(s)
			if err != nil {
				return nil, fmt.Errorf("Variable: %w", err)
			}
			r.variable = p
		case "And", "Or":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("%s must be a non-empty array of choice rules", k)
			}
			for i, item := range list {
				m, ok := item.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s[%d] must be an object", k, i)
				}
				sub, err := parseChoiceRule(m, false)
				if err != nil {
					return nil, fmt.Errorf("%s[%d]: %w", k, i, err)
				}
				if k == "And" {
					r.and = append(r.and, sub)
				} else {
					r.or = append(r.or, sub)
				}
			}
			kinds = append(kinds, k)
		case "Not":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("Not must be an object")
			}
			sub, err := parseChoiceRule(m, false)
			if err != nil {
				return nil, fmt.Errorf("Not: %w", err)
			}
			r.not = sub
			kinds = append(kinds, k)
		default:
			if err := r.parseComparator(k, v); err != nil {
				return nil, err
			}
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) != 1:
		slices.Sort(kinds)
		return nil, fmt.Errorf("a choice rule needs exactly one of And, Or, Not or a comparator, got %v", kinds)
	case r.op != "" && r.variable == nil:
		return nil, fmt.Errorf("%s needs a Variable", r.op)
	case r.op == "" && r.variable != nil:
		return nil, fmt.Errorf("Variable is only allowed with a comparator")
	case top && r.next == "":
		return nil, fmt.Errorf("a top-level choice rule needs Next")
	}
	return r, nil
}

func (r *choiceRule) parseComparator(k string, v any) error {
	if base, ok := strings.CutSuffix(k, "Path"); ok && comparators[base] != "" && !strings.HasPrefix(base, "Is") && base != "StringMatches" {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s must be a path string", k)
		}
		p, err := compilePath(s)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		r.op, r.valuePath = base, p
		return nil
	}
	kind, ok := comparators[k]
	if !ok {
		return fmt.Errorf("unsupported choice rule field %q", k)
	}
	switch kind {
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s must be a string", k)
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			return fmt.Errorf("%s must be a number", k)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s must be a boolean", k)
		}
	case "timestamp":
		s, ok := v.(string)
		if _, ok2 := parseTimestamp(s); !ok || !ok2 {
			return fmt.Errorf("%s must be an RFC 3339 timestamp string", k)
		}
	}
	r.op, r.value = k, v
	return nil
}

func parseTimestamp(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// eval reports whether the rule matches input; a Variable that selects
// nothing is a States.Runtime error except for IsPresent.
func (r *choiceRule) eval(input, ctxObj any) (bool, *stateErr) {
	switch {
	case r.and != nil:
		for _, s := range r.and {
			ok, err := s.eval(input, ctxObj)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, s := range r.or {
			ok, err := s.eval(input, ctxObj)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(input, ctxObj)
		return !ok && err == nil, err
	}
	v, found := r.variable.eval(input, ctxObj)
	if r.op == "IsPresent" {
		return found == r.value.(bool), nil
	}
	if !found {
		return false, newErr(ErrorRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", r.variable.src)
	}
	operand := r.value
	if r.valuePath != nil {
		o, ok := r.valuePath.eval(input, ctxObj)
		if !ok {
			return false, newErr(ErrorRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", r.valuePath.src)
		}
		operand = o
	}
	return compare(r.op, v, operand), nil
}

func compare(op string, v, operand any) bool {
	switch op {
	case "IsNull":
		return (v == nil) == operand.(bool)
	case "IsNumeric":
		_, ok := v.(json.Number)
		return ok == operand.(bool)
	case "IsString":
		_, ok := v.(string)
		return ok == operand.(bool)
	case "IsBoolean":
		_, ok := v.(bool)
		return ok == operand.(bool)
	case "IsTimestamp":
		s, _ := v.(string)
		_, ok := parseTimestamp(s)
		return ok == operand.(bool)
	case "BooleanEquals":
		b, ok1 := v.(bool)
		o, ok2 := operand.(bool)
		return ok1 && ok2 && b == o
	case "StringMatches":
		s, ok1 := v.(string)
		pat, ok2 := operand.(string)
		return ok1 && ok2 && wildcardMatch(pat, s)
	}
	var c int
	switch {
	case strings.HasPrefix(op, "String"):
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false
		}
		c = strings.Compare(a, b)
	case strings.HasPrefix(op, "Numeric"):
		a, ok1 := v.(json.Number)
		b, ok2 := operand.(json.Number)
		if !ok1 || !ok2 {
			return false
		}
		x, ok1 := new(big.Rat).SetString(a.String())
		y, ok2 := new(big.Rat).SetString(b.String())
		if !ok1 || !ok2 {
			return false
		}
		c = x.Cmp(y)
	case strings.HasPrefix(op, "Timestamp"):
		a, _ := v.(string)
		b, _ := operand.(string)
		x, ok1 := parseTimestamp(a)
		y, ok2 := parseTimestamp(b)
		if !ok1 || !ok2 {
			return false
		}
		c = x.Compare(y)
	default:
		return false
	}
	switch {
	case strings.HasSuffix(op, "GreaterThanEquals"):
		return c >= 0
	case strings.HasSuffix(op, "LessThanEquals"):
		return c <= 0
	case strings.HasSuffix(op, "GreaterThan"):
		return c > 0
	case strings.HasSuffix(op, "LessThan"):
		return c < 0
	}
	return c == 0 // Equals
}

// wildcardMatch implements StringMatches: "*" matches any run of characters,
// "\*" a literal asterisk and "\\" a literal backslash.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		star bool
		ch   rune
	}
	var toks []tok
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch {
		case rs[i] == '\\' && i+1 < len(rs):
			i++
			toks = append(toks, tok{ch: rs[i]})
		case rs[i] == '*':
			toks = append(toks, tok{star: true})
		default:
			toks = append(toks, tok{ch: rs[i]})
		}
	}
	str := []rune(s)
	// Classic two-pointer glob match with backtracking to the last star.
	ti, si, starT, starS := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case ti < len(toks) && !toks[ti].star && toks[ti].ch == str[si]:
			ti++
			si++
		case ti < len(toks) && toks[ti].star:
			starT, starS = ti, si
			ti++
		case starT >= 0:
			ti = starT + 1
			starS++
			si = starS
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}
