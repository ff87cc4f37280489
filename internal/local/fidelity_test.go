// Package local holds only the check of the fidelity ledger (FIDELITY.md): every behaviour the
// local AWS claims has a source or says it is a guess, and names a test that exists.
package local

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A row's test cell: one or more "TestName (package dir)", separated by ";" or ","; tests of one
// package may share its parentheses: "TestA, TestB (package dir)".
var testRef = regexp.MustCompile(`^(Test[A-Za-z0-9_]+(?:, Test[A-Za-z0-9_]+)*) \(([a-z0-9_/.-]+)\)$`)

// testRefs splits a test cell into its "Test… (package dir)" groups.
var refSeparator = regexp.MustCompile(`\)\s*[;,]\s*`)

type ledgerRow struct {
	line                   int
	section                string
	behaviour, source, tst string
}

func readLedger(t *testing.T) []ledgerRow {
	t.Helper()
	f, err := os.Open("FIDELITY.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []ledgerRow
	section := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if s, ok := strings.CutPrefix(line, "## "); ok {
			section = s
			continue
		}
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| behaviour |") {
			continue
		}
		cells := splitRow(line)
		if len(cells) != 3 {
			t.Errorf("FIDELITY.md:%d: %d cells, want 3 (behaviour | source | test): %s", n, len(cells), line)
			continue
		}
		rows = append(rows, ledgerRow{line: n, section: section, behaviour: cells[0], source: cells[1], tst: cells[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// splitRow splits a Markdown table row on the pipes that are not escaped (\|) or inside code.
func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var b strings.Builder
	code := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && line[i+1] == '|':
			b.WriteByte('|')
			i++
		case c == '`':
			code = !code
			b.WriteByte(c)
		case c == '|' && !code:
			cells = append(cells, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(cells, strings.TrimSpace(b.String()))
}

var sourceURL = regexp.MustCompile(`https://(docs\.aws\.amazon\.com|github\.com|aws\.amazon\.com)/\S+`)

func TestLedgerRowsHaveSourcesAndTests(t *testing.T) {
	rows := readLedger(t)
	if len(rows) == 0 {
		t.Fatal("FIDELITY.md has no rows")
	}
	tests := map[string]map[string]bool{} // package dir -> test names
	for _, r := range rows {
		if r.behaviour == "" {
			t.Errorf("FIDELITY.md:%d (%s): no behaviour", r.line, r.section)
		}
		guess := strings.HasPrefix(strings.ToLower(r.source), "guess")
		// A test fault is a knob of the emulator's, not a claim about AWS: it needs no source.
		fault := strings.HasPrefix(strings.ToLower(r.source), "test fault")
		if !guess && !fault && !sourceURL.MatchString(r.source) {
			t.Errorf("FIDELITY.md:%d (%s): source %q is neither an AWS documentation or GitHub URL nor \"guess — …\"", r.line, r.section, r.source)
		}
		if guess && !strings.Contains(r.source, "—") {
			t.Errorf("FIDELITY.md:%d (%s): a guess must say how the workflows stay correct either way (\"guess — …\"): %q", r.line, r.section, r.source)
		}
		refs := refSeparator.Split(strings.TrimSpace(r.tst), -1)
		for i, ref := range refs {
			ref = strings.TrimSpace(strings.Trim(strings.TrimSpace(ref), "`"))
			if i < len(refs)-1 {
				ref += ")" // the separator took it
			}
			m := testRef.FindStringSubmatch(ref)
			if m == nil {
				t.Errorf("FIDELITY.md:%d (%s): test %q is not \"TestName (package dir)\"", r.line, r.section, ref)
				continue
			}
			dir := m[2]
			if tests[dir] == nil {
				tests[dir] = testFuncs(t, dir)
			}
			for _, name := range strings.Split(m[1], ", ") {
				if !tests[dir][name] {
					t.Errorf("FIDELITY.md:%d (%s): no func %s( in %s/*_test.go", r.line, r.section, name, dir)
				}
			}
		}
	}
}

var testFunc = regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(`)

// testFuncs lists the test functions of a package directory given relative to the module root.
func testFuncs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	files, err := filepath.Glob(filepath.Join("..", "..", filepath.FromSlash(dir), "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range testFunc.FindAllSubmatch(b, -1) {
			out[string(m[1])] = true
		}
	}
	return out
}

func TestSplitRow(t *testing.T) {
	got := splitRow("| a `x|y` b | c \\| d | e |")
	want := []string{"a `x|y` b", "c | d", "e"}
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("splitRow = %q, want %q", got, want)
	}
}
