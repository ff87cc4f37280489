package asl

import "encoding/json"

// State types.
const (
	TypeTask     = "Task"
	TypePass     = "Pass"
	TypeChoice   = "Choice"
	TypeWait     = "Wait"
	TypeSucceed  = "Succeed"
	TypeFail     = "Fail"
	TypeParallel = "Parallel"
	TypeMap      = "Map"
)

// Machine is a parsed and validated state machine definition.
type Machine struct {
	Graph
	Comment        string
	Version        string
	TimeoutSeconds int
}

// Graph is a set of states run from StartAt: the machine itself, a Parallel
// branch or a Map item processor.
type Graph struct {
	StartAt string
	States  map[string]*State
	// Order lists the state names sorted (encoding/json does not keep the
	// written order), which keeps Walk and error messages deterministic.
	Order []string
}

// State is one parsed state. The exported fields describe the definition for
// lint tests; the executor runs the compiled, unexported form.
type State struct {
	Name     string
	Type     string
	Comment  string
	Next     string
	End      bool
	Default  string // Choice
	Resource string // Task, after placeholder substitution
	// Parameters is the payload template as written: Parameters, or
	// ItemSelector for a Map state.
	Parameters json.RawMessage
	Retry      []Retrier
	Catch      []Catcher
	// Branches holds a Parallel state's branches, or a Map state's item
	// processor as its only element.
	Branches []*Graph
	// Choices holds the Next target of each top-level Choice rule.
	Choices []string

	inputPath, outputPath ioPath
	resultPath            ioPath
	params                *template
	resultSelector        *template
	result                any // Pass
	hasResult             bool

	// Task
	timeoutSeconds, heartbeatSeconds int
	timeoutPath, heartbeatPath       *path
	waitForToken                     bool

	// Choice
	rules []*choiceRule

	// Wait
	seconds       int
	hasSeconds    bool
	secondsPath   *path
	timestamp     string
	timestampPath *path

	// Fail
	errorName, cause     string
	errorPath, causePath *path
	errorCall, causeCall *intrinsic

	// Map
	itemsPath      *path
	maxConcurrency int
}

// ioPath is InputPath, OutputPath or ResultPath: absent means "$", and null
// has its own meaning for each field.
type ioPath struct {
	null bool
	p    *path // nil means "$"
}

// Retrier is one element of a state's Retry field, with defaults applied.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds int
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds int    // 0 means no cap
	JitterStrategy  string // "FULL" or "NONE"
}

// Catcher is one element of a state's Catch field.
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  string // as written; "" when absent (meaning "$")

	resultPath ioPath
}

// Walk calls fn for every state of the machine, depth first in name order,
// including the states of Parallel branches and Map item processors.
func (m *Machine) Walk(fn func(s *State)) {
	var walk func(g *Graph)
	walk = func(g *Graph) {
		for _, name := range g.Order {
			s := g.States[name]
			fn(s)
			for _, b := range s.Branches {
				walk(b)
			}
		}
	}
	walk(&m.Graph)
}
