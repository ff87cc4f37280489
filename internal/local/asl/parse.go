package asl

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

var commonFields = []string{"Type", "Comment", "QueryLanguage"}

// stateFields lists the fields each state type accepts; any other field makes
// Parse fail rather than be ignored.
var stateFields = map[string][]string{
	TypeTask: {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath",
		"Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"},
	TypePass:    {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result"},
	TypeChoice:  {"Choices", "Default", "InputPath", "OutputPath"},
	TypeWait:    {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	TypeSucceed: {"InputPath", "OutputPath"},
	TypeFail:    {"Error", "Cause", "ErrorPath", "CausePath"},
	TypeParallel: {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath",
		"Retry", "Catch", "Branches"},
	TypeMap: {"Next", "End", "InputPath", "OutputPath", "ItemsPath", "ItemSelector", "Parameters", "ItemProcessor",
		"Iterator", "MaxConcurrency", "ResultSelector", "ResultPath", "Retry", "Catch"},
}

// Parse parses and validates an Amazon States Language definition (JSONPath
// query language). It fails, naming the state and field, on anything it does
// not implement, so nothing in a definition is silently ignored.
func Parse(def []byte) (*Machine, error) {
	if err := checkDuplicateKeys(def); err != nil {
		return nil, fmt.Errorf("parse definition: %w", err)
	}
	v, err := decodeJSON(def)
	if err != nil {
		return nil, fmt.Errorf("parse definition: %w", err)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse definition: top level must be an object, got %s", typeName(v))
	}
	if err := checkFields("state machine", top, []string{"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}); err != nil {
		return nil, err
	}
	if err := checkQueryLanguage("state machine", top); err != nil {
		return nil, err
	}
	m := &Machine{}
	if m.Comment, err = optString("state machine", top, "Comment"); err != nil {
		return nil, err
	}
	if m.Version, err = optString("state machine", top, "Version"); err != nil {
		return nil, err
	}
	if m.Version != "" && m.Version != "1.0" {
		return nil, fmt.Errorf("state machine: unsupported Version %q", m.Version)
	}
	if m.TimeoutSeconds, err = optPositiveInt("state machine", top, "TimeoutSeconds"); err != nil {
		return nil, err
	}
	g, err := parseGraph("state machine", top, nil)
	if err != nil {
		return nil, err
	}
	m.Graph = *g
	if err := Validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

func checkFields(where string, obj map[string]any, allowed []string) error {
	var bad []string
	for k := range obj {
		if !slices.Contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("%s: unsupported field %q", where, bad[0])
	}
	return nil
}

func checkQueryLanguage(where string, obj map[string]any) error {
	ql, ok := obj["QueryLanguage"]
	if !ok || ql == "JSONPath" {
		return nil
	}
	return fmt.Errorf("%s: QueryLanguage %v is not supported, only JSONPath", where, ql)
}

// parseGraph parses StartAt and States of obj; names collects every state
// name of the machine, which must be unique.
func parseGraph(where string, obj map[string]any, names map[string]bool) (*Graph, error) {
	if names == nil {
		names = map[string]bool{}
	}
	start, ok := obj["StartAt"].(string)
	if !ok || start == "" {
		return nil, fmt.Errorf("%s: StartAt must be a non-empty string", where)
	}
	states, ok := obj["States"].(map[string]any)
	if !ok || len(states) == 0 {
		return nil, fmt.Errorf("%s: States must be a non-empty object", where)
	}
	g := &Graph{StartAt: start, States: map[string]*State{}}
	g.Order = definitionOrder(states)
	for _, name := range g.Order {
		if names[name] {
			return nil, fmt.Errorf("state %q: duplicate state name", name)
		}
		names[name] = true
		if len(name) > 80 {
			return nil, fmt.Errorf("state %q: name longer than 80 characters", name)
		}
		raw, ok := states[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("state %q: must be an object", name)
		}
		s, err := parseState(name, raw, names)
		if err != nil {
			return nil, err
		}
		g.States[name] = s
	}
	return g, nil
}

// definitionOrder returns the names sorted; encoding/json maps lose the
// written order, and sorted order keeps Walk and errors deterministic.
func definitionOrder(states map[string]any) []string {
	names := make([]string, 0, len(states))
	for k := range states {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func parseState(name string, raw map[string]any, names map[string]bool) (*State, error) {
	where := fmt.Sprintf("state %q", name)
	typ, ok := raw["Type"].(string)
	if !ok {
		return nil, fmt.Errorf("%s: Type must be a string", where)
	}
	allowed, ok := stateFields[typ]
	if !ok {
		return nil, fmt.Errorf("%s: unsupported state Type %q", where, typ)
	}
	if err := checkFields(where, raw, append(slices.Clone(commonFields), allowed...)); err != nil {
		return nil, fmt.Errorf("%w for a %s state", err, typ)
	}
	if err := checkQueryLanguage(where, raw); err != nil {
		return nil, err
	}
	s := &State{Name: name, Type: typ}
	p := &fieldParser{where: where, raw: raw}
	s.Comment = p.str("Comment")
	s.Next = p.str("Next")
	s.End = p.boolean("End")
	s.inputPath = p.ioPath("InputPath", false)
	s.outputPath = p.ioPath("OutputPath", false)
	s.resultPath = p.ioPath("ResultPath", true)
	s.resultSelector = p.template("ResultSelector")
	if typ == TypeMap {
		if has(raw, "ItemSelector") && has(raw, "Parameters") {
			return nil, fmt.Errorf("%s: ItemSelector and Parameters cannot both be set", where)
		}
		s.params = p.template("ItemSelector")
		s.Parameters = p.rawJSON("ItemSelector")
	}
	if s.params == nil {
		s.params = p.template("Parameters")
		s.Parameters = p.rawJSON("Parameters")
	}
	s.Retry = p.retriers()
	s.Catch = p.catchers()
	if p.err != nil {
		return nil, p.err
	}

	switch typ {
	case TypeTask:
		s.Resource = p.str("Resource")
		if s.Resource == "" && p.err == nil {
			p.fail("Resource", "must be a non-empty string")
		}
		s.waitForToken = strings.HasSuffix(s.Resource, ".waitForTaskToken")
		if strings.HasSuffix(s.Resource, ".sync") || strings.Contains(s.Resource, ".sync:") {
			p.fail("Resource", "the .sync integration pattern is not supported")
		}
		if strings.Contains(s.Resource, ":activity:") {
			p.fail("Resource", "activities are not supported")
		}
		s.timeoutSeconds = p.positiveInt("TimeoutSeconds")
		s.heartbeatSeconds = p.positiveInt("HeartbeatSeconds")
		s.timeoutPath = p.refPath("TimeoutSecondsPath")
		s.heartbeatPath = p.refPath("HeartbeatSecondsPath")
		if has(raw, "TimeoutSeconds") && has(raw, "TimeoutSecondsPath") {
			p.fail("TimeoutSecondsPath", "cannot be used with TimeoutSeconds")
		}
		if has(raw, "HeartbeatSeconds") && has(raw, "HeartbeatSecondsPath") {
			p.fail("HeartbeatSecondsPath", "cannot be used with HeartbeatSeconds")
		}
		if s.timeoutSeconds > 0 && s.heartbeatSeconds >= s.timeoutSeconds {
			p.fail("HeartbeatSeconds", "must be smaller than TimeoutSeconds")
		}
	case TypePass:
		if v, ok := raw["Result"]; ok {
			s.result, s.hasResult = v, true
		}
	case TypeChoice:
		s.Default = p.str("Default")
		list, ok := raw["Choices"].([]any)
		if !ok || len(list) == 0 {
			p.fail("Choices", "must be a non-empty array")
			break
		}
		for i, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				p.fail(fmt.Sprintf("Choices[%d]", i), "must be an object")
				break
			}
			r, err := parseChoiceRule(m, true)
			if err != nil {
				p.fail(fmt.Sprintf("Choices[%d]", i), err.Error())
				break
			}
			s.rules = append(s.rules, r)
			s.Choices = append(s.Choices, r.next)
		}
	case TypeWait:
		n := 0
		for _, f := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
			if has(raw, f) {
				n++
			}
		}
		if n != 1 {
			p.fail("Seconds", "exactly one of Seconds, SecondsPath, Timestamp and TimestampPath is required")
		}
		s.seconds, s.hasSeconds = p.nonNegativeInt("Seconds"), has(raw, "Seconds")
		s.secondsPath = p.refPath("SecondsPath")
		s.timestamp = p.str("Timestamp")
		if has(raw, "Timestamp") {
			if _, ok := parseTimestamp(s.timestamp); !ok {
				p.fail("Timestamp", "must be an RFC 3339 timestamp")
			}
		}
		s.timestampPath = p.refPath("TimestampPath")
	case TypeFail:
		s.errorName = p.str("Error")
		s.cause = p.str("Cause")
		s.errorPath, s.errorCall = p.expr("ErrorPath")
		s.causePath, s.causeCall = p.expr("CausePath")
		if has(raw, "Error") && has(raw, "ErrorPath") {
			p.fail("ErrorPath", "cannot be used with Error")
		}
		if has(raw, "Cause") && has(raw, "CausePath") {
			p.fail("CausePath", "cannot be used with Cause")
		}
	case TypeParallel:
		list, ok := raw["Branches"].([]any)
		if !ok || len(list) == 0 {
			p.fail("Branches", "must be a non-empty array")
			break
		}
		for i, b := range list {
			bw := fmt.Sprintf("%s Branches[%d]", where, i)
			bm, ok := b.(map[string]any)
			if !ok {
				p.fail(fmt.Sprintf("Branches[%d]", i), "must be an object")
				break
			}
			if err := checkFields(bw, bm, []string{"StartAt", "States", "Comment"}); err != nil {
				return nil, err
			}
			g, err := parseGraph(bw, bm, names)
			if err != nil {
				return nil, err
			}
			s.Branches = append(s.Branches, g)
		}
	case TypeMap:
		s.itemsPath = p.refPath("ItemsPath")
		s.maxConcurrency = p.nonNegativeInt("MaxConcurrency")
		proc, err := parseItemProcessor(where, raw, names)
		if err != nil {
			return nil, err
		}
		s.Branches = []*Graph{proc}
	}
	if p.err != nil {
		return nil, p.err
	}
	return s, nil
}

func parseItemProcessor(where string, raw map[string]any, names map[string]bool) (*Graph, error) {
	ip, hasIP := raw["ItemProcessor"]
	it, hasIt := raw["Iterator"]
	switch {
	case hasIP && hasIt:
		return nil, fmt.Errorf("%s: ItemProcessor and Iterator cannot both be set", where)
	case hasIt:
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: Iterator must be an object", where)
		}
		if err := checkFields(where+" Iterator", m, []string{"StartAt", "States", "Comment"}); err != nil {
			return nil, err
		}
		return parseGraph(where+" Iterator", m, names)
	case hasIP:
		m, ok := ip.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: ItemProcessor must be an object", where)
		}
		w := where + " ItemProcessor"
		if err := checkFields(w, m, []string{"StartAt", "States", "Comment", "ProcessorConfig"}); err != nil {
			return nil, err
		}
		if pc, ok := m["ProcessorConfig"]; ok {
			cfg, ok := pc.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: ProcessorConfig must be an object", w)
			}
			if err := checkFields(w+" ProcessorConfig", cfg, []string{"Mode"}); err != nil {
				return nil, err
			}
			if mode, ok := cfg["Mode"]; ok && mode != "INLINE" {
				return nil, fmt.Errorf("%s: ProcessorConfig Mode %v is not supported, only INLINE", w, mode)
			}
		}
		return parseGraph(w, m, names)
	}
	return nil, fmt.Errorf("%s: a Map state needs ItemProcessor or Iterator", where)
}

func has(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// fieldParser reads typed fields of one state, keeping the first error.
type fieldParser struct {
	where string
	raw   map[string]any
	err   error
}

func (p *fieldParser) fail(field, msg string) {
	if p.err == nil {
		p.err = fmt.Errorf("%s: field %s: %s", p.where, field, msg)
	}
}

func (p *fieldParser) str(k string) string {
	v, ok := p.raw[k]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.fail(k, "must be a string")
	}
	return s
}

func (p *fieldParser) boolean(k string) bool {
	v, ok := p.raw[k]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		p.fail(k, "must be a boolean")
	}
	return b
}

func (p *fieldParser) intField(k string, minimum int64) int {
	v, ok := p.raw[k]
	if !ok {
		return 0
	}
	i, ok := toInt(v)
	if !ok || i < minimum || i > 99999999 {
		p.fail(k, fmt.Sprintf("must be an integer from %d to 99999999", minimum))
		return 0
	}
	return int(i)
}

func (p *fieldParser) positiveInt(k string) int    { return p.intField(k, 1) }
func (p *fieldParser) nonNegativeInt(k string) int { return p.intField(k, 0) }

func (p *fieldParser) ioPath(k string, reference bool) ioPath {
	v, ok := p.raw[k]
	if !ok {
		return ioPath{}
	}
	if v == nil {
		return ioPath{null: true}
	}
	s, ok := v.(string)
	if !ok {
		p.fail(k, "must be a path string or null")
		return ioPath{}
	}
	if s == "$" {
		return ioPath{}
	}
	compile := compilePath
	if reference {
		compile = compileReferencePath
	}
	pth, err := compile(s)
	if err != nil {
		p.fail(k, err.Error())
		return ioPath{}
	}
	if pth.context && !reference {
		p.fail(k, "cannot use the context object")
	}
	return ioPath{p: pth}
}

func (p *fieldParser) refPath(k string) *path {
	s := p.str(k)
	if s == "" {
		return nil
	}
	pth, err := compileReferencePath(s)
	if err != nil {
		p.fail(k, err.Error())
	}
	return pth
}

func (p *fieldParser) expr(k string) (*path, *intrinsic) {
	s := p.str(k)
	if s == "" {
		return nil, nil
	}
	pth, call, err := dynamicExpr(s)
	if err != nil {
		p.fail(k, err.Error())
	}
	return pth, call
}

func (p *fieldParser) template(k string) *template {
	v, ok := p.raw[k]
	if !ok {
		return nil
	}
	if k == "ResultSelector" || k == "ItemSelector" {
		if _, isObj := v.(map[string]any); !isObj {
			p.fail(k, "must be an object")
			return nil
		}
	}
	t, err := compileTemplate(v)
	if err != nil {
		p.fail(k, err.Error())
	}
	return t
}

func (p *fieldParser) rawJSON(k string) json.RawMessage {
	v, ok := p.raw[k]
	if !ok {
		return nil
	}
	return encodeJSON(v)
}

func (p *fieldParser) errorEquals(where string, m map[string]any) []string {
	list, ok := m["ErrorEquals"].([]any)
	if !ok || len(list) == 0 {
		p.fail(where, "ErrorEquals must be a non-empty array of strings")
		return nil
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok || s == "" {
			p.fail(where, "ErrorEquals must be a non-empty array of strings")
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (p *fieldParser) list(k string) []map[string]any {
	v, ok := p.raw[k]
	if !ok {
		return nil
	}
	items, ok := v.([]any)
	if !ok {
		p.fail(k, "must be an array")
		return nil
	}
	out := make([]map[string]any, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			p.fail(fmt.Sprintf("%s[%d]", k, i), "must be an object")
			return nil
		}
		out = append(out, m)
	}
	return out
}

func (p *fieldParser) retriers() []Retrier {
	var out []Retrier
	for i, m := range p.list("Retry") {
		w := fmt.Sprintf("Retry[%d]", i)
		if err := checkFields(p.where+" "+w, m, []string{"ErrorEquals", "IntervalSeconds", "MaxAttempts",
			"BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"}); err != nil {
			if p.err == nil {
				p.err = err
			}
			return nil
		}
		sub := &fieldParser{where: p.where + " " + w, raw: m}
		r := Retrier{ErrorEquals: p.errorEquals(w, m), IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "NONE"}
		if has(m, "IntervalSeconds") {
			r.IntervalSeconds = sub.positiveInt("IntervalSeconds")
		}
		if has(m, "MaxAttempts") {
			r.MaxAttempts = sub.nonNegativeInt("MaxAttempts")
		}
		r.MaxDelaySeconds = sub.positiveInt("MaxDelaySeconds")
		if v, ok := m["BackoffRate"]; ok {
			n, isNum := v.(json.Number)
			f, err := n.Float64()
			if !isNum || err != nil || f < 1 || math.IsInf(f, 0) {
				sub.fail("BackoffRate", "must be a number not less than 1.0")
			}
			r.BackoffRate = f
		}
		if has(m, "JitterStrategy") {
			r.JitterStrategy = sub.str("JitterStrategy")
			if r.JitterStrategy != "FULL" && r.JitterStrategy != "NONE" {
				sub.fail("JitterStrategy", "must be FULL or NONE")
			}
		}
		if sub.err != nil && p.err == nil {
			p.err = sub.err
		}
		out = append(out, r)
	}
	return out
}

func (p *fieldParser) catchers() []Catcher {
	var out []Catcher
	for i, m := range p.list("Catch") {
		w := fmt.Sprintf("Catch[%d]", i)
		if err := checkFields(p.where+" "+w, m, []string{"ErrorEquals", "Next", "ResultPath", "Comment"}); err != nil {
			if p.err == nil {
				p.err = err
			}
			return nil
		}
		sub := &fieldParser{where: p.where + " " + w, raw: m}
		c := Catcher{ErrorEquals: p.errorEquals(w, m), Next: sub.str("Next")}
		c.ResultPath, _ = m["ResultPath"].(string)
		if c.Next == "" {
			sub.fail("Next", "must be a non-empty string")
		}
		c.resultPath = sub.ioPath("ResultPath", true)
		if sub.err != nil && p.err == nil {
			p.err = sub.err
		}
		out = append(out, c)
	}
	return out
}

func optString(where string, obj map[string]any, k string) (string, error) {
	p := &fieldParser{where: where, raw: obj}
	s := p.str(k)
	return s, p.err
}

func optPositiveInt(where string, obj map[string]any, k string) (int, error) {
	p := &fieldParser{where: where, raw: obj}
	i := p.positiveInt(k)
	return i, p.err
}
