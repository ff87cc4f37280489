package asl

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var placeholderRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Placeholders returns the sorted, distinct names of the ${Name} placeholders
// in definition, as filled by CloudFormation DefinitionSubstitutions.
func Placeholders(definition []byte) []string {
	var names []string
	for _, m := range placeholderRE.FindAllSubmatch(definition, -1) {
		names = append(names, string(m[1]))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Substitute replaces every ${Name} placeholder with vars[Name], textually as
// DefinitionSubstitutions does. Infrastructure must supply exactly the
// placeholders the definition uses: a placeholder without a value, a value
// without a placeholder, or a leftover "${" is an error naming them all.
func Substitute(definition []byte, vars map[string]string) ([]byte, error) {
	used := Placeholders(definition)
	var missing, unused []string
	for _, n := range used {
		if _, ok := vars[n]; !ok {
			missing = append(missing, n)
		}
	}
	for n := range vars {
		if !slices.Contains(used, n) {
			unused = append(unused, n)
		}
	}
	slices.Sort(unused)
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "no value for placeholders "+strings.Join(missing, ", "))
	}
	if len(unused) > 0 {
		problems = append(problems, "no placeholder for values "+strings.Join(unused, ", "))
	}
	out := placeholderRE.ReplaceAllFunc(definition, func(m []byte) []byte {
		if v, ok := vars[string(m[2:len(m)-1])]; ok {
			return []byte(v)
		}
		return m
	})
	if len(missing) == 0 {
		if i := bytes.Index(out, []byte("${")); i >= 0 {
			end := min(i+40, len(out))
			problems = append(problems, fmt.Sprintf("malformed placeholder at %q", out[i:end]))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("substitute definition: %s", strings.Join(problems, "; "))
	}
	return out, nil
}
