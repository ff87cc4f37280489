package snapshot

import (
	"maps"
	"slices"
	"strings"
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
