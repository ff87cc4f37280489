package snapshot

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// PackAttributes encodes attributes as one string, names sorted, so two users' attributes compare
// with == and a pool's worth of them fits in memory far better than maps do. Cognito attribute
// names contain no "=" and values no NUL.
func PackAttributes(attrs map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(attrs[k])
		b.WriteByte(0)
	}
	return b.String()
}

// UnpackAttributes reverses PackAttributes.
func UnpackAttributes(s string) map[string]string {
	out := map[string]string{}
	for kv := range strings.SplitSeq(s, "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// RunPrefix is where one execution of a workflow keeps its files:
// <base>/<pool id>/<start time, UTC, compact>_<execution name>/. Keys sort by time per pool, and
// an execution's files are found from its name in the console.
func RunPrefix(base, pool string, started time.Time, execution string) string {
	return fmt.Sprintf("%s/%s/%s_%s/", base, pool, started.UTC().Format("20060102T150405Z"), execution)
}
