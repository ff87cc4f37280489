package asl

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// intrinsic is a parsed intrinsic function call such as
// States.Format('{} items', $.count).
type intrinsic struct {
	name string
	args []iarg
}

// iarg is one intrinsic argument: a literal, a path or a nested call.
type iarg struct {
	lit   any    // literal value (string, json.Number, bool, nil)
	raw   string // a string literal as written, escapes kept, for States.Format
	isStr bool
	path  *path
	call  *intrinsic
}

type intrinsicSpec struct {
	min, max int // argument count; max -1 means unbounded
	eval     func(args []any, raw []iarg) (any, error)
}

var intrinsics map[string]intrinsicSpec

func init() {
	intrinsics = map[string]intrinsicSpec{
		"States.Format":         {1, -1, fnFormat},
		"States.StringToJson":   {1, 1, fnStringToJSON},
		"States.JsonToString":   {1, 1, fnJSONToString},
		"States.Array":          {0, -1, fnArray},
		"States.ArrayLength":    {1, 1, fnArrayLength},
		"States.ArrayGetItem":   {2, 2, fnArrayGetItem},
		"States.ArrayContains":  {2, 2, fnArrayContains},
		"States.ArrayRange":     {3, 3, fnArrayRange},
		"States.ArrayPartition": {2, 2, fnArrayPartition},
		"States.ArrayUnique":    {1, 1, fnArrayUnique},
		"States.MathAdd":        {2, 2, fnMathAdd},
		"States.UUID":           {0, 0, fnUUID},
		"States.JsonMerge":      {3, 3, fnJSONMerge},
		"States.StringSplit":    {2, 2, fnStringSplit},
		"States.Base64Encode":   {1, 1, fnBase64Encode},
		"States.Base64Decode":   {1, 1, fnBase64Decode},
		"States.Hash":           {2, 2, fnHash},
	}
}

// parseIntrinsic parses a whole intrinsic function expression.
func parseIntrinsic(s string) (*intrinsic, error) {
	p := &iparser{s: s}
	call, err := p.call()
	if err != nil {
		return nil, fmt.Errorf("intrinsic %q: %w", s, err)
	}
	p.skipSpace()
	if p.i != len(s) {
		return nil, fmt.Errorf("intrinsic %q: unexpected %q at offset %d", s, s[p.i:], p.i)
	}
	return call, nil
}

type iparser struct {
	s string
	i int
}

func (p *iparser) skipSpace() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *iparser) call() (*intrinsic, error) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '(' {
		p.i++
	}
	if p.i == len(p.s) {
		return nil, errors.New("missing (")
	}
	name := p.s[start:p.i]
	sp, ok := intrinsics[name]
	if !ok {
		return nil, fmt.Errorf("unsupported intrinsic function %q", name)
	}
	p.i++ // (
	c := &intrinsic{name: name}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			p.skipSpace()
			a, err := p.arg()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			p.skipSpace()
			if p.i >= len(p.s) {
				return nil, errors.New("missing )")
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			if p.s[p.i] != ',' {
				return nil, fmt.Errorf("expected , or ) at offset %d", p.i)
			}
			p.i++
		}
	}
	if len(c.args) < sp.min || (sp.max >= 0 && len(c.args) > sp.max) {
		return nil, fmt.Errorf("%s takes %s arguments, got %d", name, arity(sp), len(c.args))
	}
	if name == "States.JsonMerge" && c.args[2].path == nil && c.args[2].call == nil && c.args[2].lit != false {
		return nil, errors.New("States.JsonMerge supports only shallow merging: the third argument must be false")
	}
	return c, nil
}

func arity(sp intrinsicSpec) string {
	switch {
	case sp.max < 0:
		return fmt.Sprintf("at least %d", sp.min)
	case sp.min == sp.max:
		return strconv.Itoa(sp.min)
	}
	return fmt.Sprintf("%d to %d", sp.min, sp.max)
}

func (p *iparser) arg() (iarg, error) {
	if p.i >= len(p.s) {
		return iarg{}, errors.New("missing argument")
	}
	rest := p.s[p.i:]
	switch {
	case rest[0] == '\'':
		return p.str()
	case rest[0] == '$':
		return p.pathArg()
	case strings.HasPrefix(rest, "States."):
		c, err := p.call()
		return iarg{call: c}, err
	}
	end := p.i
	for end < len(p.s) && p.s[end] != ',' && p.s[end] != ')' && p.s[end] != ' ' {
		end++
	}
	tok := p.s[p.i:end]
	p.i = end
	switch tok {
	case "true":
		return iarg{lit: true}, nil
	case "false":
		return iarg{lit: false}, nil
	case "null":
		return iarg{lit: nil}, nil
	}
	if _, err := strconv.ParseFloat(tok, 64); err != nil || !json.Valid([]byte(tok)) {
		return iarg{}, fmt.Errorf("invalid argument %q", tok)
	}
	return iarg{lit: json.Number(tok)}, nil
}

// str parses a single-quoted string literal. A backslash escapes the next
// character (\' \\ \{ \}); raw keeps the escapes for States.Format.
func (p *iparser) str() (iarg, error) {
	p.i++ // opening quote
	var val, raw strings.Builder
	for p.i < len(p.s) {
		ch := p.s[p.i]
		switch ch {
		case '\\':
			if p.i+1 >= len(p.s) {
				return iarg{}, errors.New("unterminated escape in string literal")
			}
			raw.WriteString(p.s[p.i : p.i+2])
			val.WriteByte(p.s[p.i+1])
			p.i += 2
			continue
		case '\'':
			p.i++
			return iarg{lit: val.String(), raw: raw.String(), isStr: true}, nil
		}
		raw.WriteByte(ch)
		val.WriteByte(ch)
		p.i++
	}
	return iarg{}, errors.New("unterminated string literal")
}

// pathArg reads a path up to the next top-level ',' or ')'.
func (p *iparser) pathArg() (iarg, error) {
	start := p.i
	depth := 0
	var quote byte
	for ; p.i < len(p.s); p.i++ {
		ch := p.s[p.i]
		if quote != 0 {
			if ch == '\\' {
				p.i++
			} else if ch == quote {
				quote = 0
			}
			continue
		}
		switch ch {
		case '\'', '"':
			quote = ch
		case '[', '(':
			depth++
		case ']':
			depth--
		case ')':
			if depth == 0 {
				goto done
			}
			depth--
		case ',':
			if depth == 0 {
				goto done
			}
		}
	}
done:
	pth, err := compilePath(strings.TrimRight(p.s[start:p.i], " "))
	if err != nil {
		return iarg{}, err
	}
	return iarg{path: pth}, nil
}

// intrinsicError is an intrinsic function failing at run time.
type intrinsicError struct{ msg string }

func (e *intrinsicError) Error() string { return e.msg }

func ifail(format string, a ...any) error {
	return &intrinsicError{msg: fmt.Sprintf(format, a...)}
}

func (c *intrinsic) eval(input, ctxObj any) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch {
		case a.call != nil:
			v, err := a.call.eval(input, ctxObj)
			if err != nil {
				return nil, err
			}
			args[i] = v
		case a.path != nil:
			v, ok := a.path.eval(input, ctxObj)
			if !ok {
				return nil, &pathError{path: a.path.src, where: c.name}
			}
			args[i] = v
		default:
			args[i] = a.lit
		}
	}
	v, err := intrinsics[c.name].eval(args, c.args)
	if err != nil {
		var ie *intrinsicError
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		return nil, err
	}
	return v, nil
}

func fnFormat(args []any, raw []iarg) (any, error) {
	tmpl, ok := args[0].(string)
	if !ok {
		return nil, ifail("template must be a string, got %s", typeName(args[0]))
	}
	if raw[0].isStr {
		tmpl = raw[0].raw
	} else {
		// A template from a path has no escapes to honour.
		tmpl = strings.NewReplacer(`\`, `\\`).Replace(tmpl)
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(tmpl); i++ {
		switch {
		case tmpl[i] == '\\' && i+1 < len(tmpl):
			i++
			b.WriteByte(tmpl[i])
		case tmpl[i] == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			if next >= len(args) {
				return nil, ifail("more {} placeholders than arguments")
			}
			switch v := args[next].(type) {
			case string:
				b.WriteString(v)
			case map[string]any, []any:
				return nil, ifail("argument %d is %s; only strings, numbers, booleans and null can be formatted", next, typeName(v))
			default:
				b.Write(encodeJSON(v))
			}
			next++
			i++
		default:
			b.WriteByte(tmpl[i])
		}
	}
	if next != len(args) {
		return nil, ifail("%d arguments for %d {} placeholders", len(args)-1, next-1)
	}
	return b.String(), nil
}

func fnStringToJSON(args []any, _ []iarg) (any, error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, ifail("argument must be a string, got %s", typeName(args[0]))
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, ifail("invalid JSON: %v", err)
	}
	return v, nil
}

func fnJSONToString(args []any, _ []iarg) (any, error) {
	return string(encodeJSON(args[0])), nil
}

func fnArray(args []any, _ []iarg) (any, error) {
	out := make([]any, len(args))
	copy(out, args)
	return out, nil
}

func arrayArg(v any) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, ifail("argument must be an array, got %s", typeName(v))
	}
	return a, nil
}

func intArg(v any) (int64, error) {
	i, ok := toInt(v)
	if !ok {
		return 0, ifail("argument must be an integer, got %s", typeName(v))
	}
	return i, nil
}

func num(i int64) json.Number { return json.Number(strconv.FormatInt(i, 10)) }

func fnArrayLength(args []any, _ []iarg) (any, error) {
	a, err := arrayArg(args[0])
	if err != nil {
		return nil, err
	}
	return num(int64(len(a))), nil
}

func fnArrayGetItem(args []any, _ []iarg) (any, error) {
	a, err := arrayArg(args[0])
	if err != nil {
		return nil, err
	}
	i, err := intArg(args[1])
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= int64(len(a)) {
		return nil, ifail("index %d out of range for array of length %d", i, len(a))
	}
	return a[i], nil
}

func fnArrayContains(args []any, _ []iarg) (any, error) {
	a, err := arrayArg(args[0])
	if err != nil {
		return nil, err
	}
	for _, v := range a {
		if jsonEqual(v, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

func fnArrayRange(args []any, _ []iarg) (any, error) {
	var n [3]int64
	for i := range n {
		v, err := intArg(args[i])
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	start, end, step := n[0], n[1], n[2]
	if step == 0 {
		return nil, ifail("step must not be 0")
	}
	out := []any{}
	for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
		if len(out) == 1000 {
			return nil, ifail("range has more than 1000 items")
		}
		out = append(out, num(v))
	}
	return out, nil
}

func fnArrayPartition(args []any, _ []iarg) (any, error) {
	a, err := arrayArg(args[0])
	if err != nil {
		return nil, err
	}
	size, err := intArg(args[1])
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, ifail("chunk size must be positive")
	}
	out := []any{}
	for i := 0; i < len(a); i += int(size) {
		end := min(i+int(size), len(a))
		chunk := make([]any, end-i)
		copy(chunk, a[i:end])
		out = append(out, chunk)
	}
	return out, nil
}

func fnArrayUnique(args []any, _ []iarg) (any, error) {
	a, err := arrayArg(args[0])
	if err != nil {
		return nil, err
	}
	out := []any{}
next:
	for _, v := range a {
		for _, w := range out {
			if jsonEqual(v, w) {
				continue next
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func fnMathAdd(args []any, _ []iarg) (any, error) {
	a, err := intArg(args[0])
	if err != nil {
		return nil, err
	}
	b, err := intArg(args[1])
	if err != nil {
		return nil, err
	}
	return num(a + b), nil
}

func fnUUID([]any, []iarg) (any, error) { return uuid.NewString(), nil }

func fnJSONMerge(args []any, _ []iarg) (any, error) {
	a, ok1 := args[0].(map[string]any)
	b, ok2 := args[1].(map[string]any)
	if !ok1 || !ok2 {
		return nil, ifail("arguments must be objects, got %s and %s", typeName(args[0]), typeName(args[1]))
	}
	if args[2] != false {
		return nil, ifail("only shallow merging is supported: the third argument must be false")
	}
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out, nil
}

func fnStringSplit(args []any, _ []iarg) (any, error) {
	s, ok1 := args[0].(string)
	d, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, ifail("arguments must be strings")
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(d, r) })
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func fnBase64Encode(args []any, _ []iarg) (any, error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, ifail("argument must be a string")
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(args []any, _ []iarg) (any, error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, ifail("argument must be a string")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, ifail("invalid base64: %v", err)
	}
	return string(b), nil
}

func fnHash(args []any, _ []iarg) (any, error) {
	s, ok1 := args[0].(string)
	alg, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, ifail("arguments must be strings")
	}
	var h hash.Hash
	switch alg {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	case "SHA-256":
		h = sha256.New()
	case "SHA-384":
		h = sha512.New384()
	case "SHA-512":
		h = sha512.New()
	default:
		return nil, ifail("unsupported hash algorithm %q", alg)
	}
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}
