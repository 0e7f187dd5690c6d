package module

import (
	"slices"
	"strconv"
	"strings"
)

// Query is a parsed query path: the segments before '?', and the
// parameters every list query shares (limit, after, height) plus the
// module's own (Extra).
type Query struct {
	Path   []string
	Limit  int
	After  string
	Height uint64
	Extra  map[string]string
}

// ParseQuery splits "?k=v&k=v" off a query path. The ledger may not import
// net/url, so values are plain, never escaped; a value may hold '/' (such
// as a capability llm/chat, which the ledger has already split into
// segments), so everything after the first '?' is joined back. limit must
// be 1..maxLimit (default defLimit); height a block height; keys named in
// extra go to Extra; any other key is refused with the list of those
// accepted.
func ParseQuery(path []string, defLimit, maxLimit int, extra ...string) (Query, error) {
	q := Query{Path: path, Limit: defLimit}
	i := slices.IndexFunc(path, func(s string) bool { return strings.Contains(s, "?") })
	if i < 0 {
		return q, nil
	}
	head, params, _ := strings.Cut(strings.Join(path[i:], "/"), "?")
	q.Path = slices.Clone(path[:i])
	if head != "" {
		q.Path = append(q.Path, head)
	}
	for kv := range strings.SplitSeq(params, "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLimit {
				return q, Errorf(ReasonBadQuery, "limit %q: want 1 to %d", v, maxLimit)
			}
			q.Limit = n
		case k == "after":
			q.After = v
		case k == "height":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return q, Errorf(ReasonBadQuery, "height %q: want a block height", v)
			}
			q.Height = n
		case slices.Contains(extra, k):
			if q.Extra == nil {
				q.Extra = map[string]string{}
			}
			q.Extra[k] = v
		default:
			return q, Errorf(ReasonBadQuery, "query parameter %q: want %s", k, strings.Join(append([]string{"limit", "after", "height"}, extra...), ", "))
		}
	}
	return q, nil
}
