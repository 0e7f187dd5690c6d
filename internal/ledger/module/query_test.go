package module

import (
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery(strings.Split("services?capability=llm/chat&limit=5&after=x&height=9", "/"), 100, 1000, "capability")
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Path) != 1 || q.Path[0] != "services" || q.Limit != 5 || q.After != "x" || q.Height != 9 || q.Extra["capability"] != "llm/chat" {
		t.Fatalf("parsed %+v", q)
	}
	if q, err := ParseQuery([]string{"a", "b"}, 100, 1000); err != nil || q.Limit != 100 || len(q.Path) != 2 {
		t.Fatalf("no params: %+v %v", q, err)
	}
	for _, tc := range []struct{ path, want string }{
		{"x?limit=0", "limit \"0\": want 1 to 1000"},
		{"x?limit=1001", "want 1 to 1000"},
		{"x?height=-1", "want a block height"},
		{"x?color=red", "query parameter \"color\": want limit, after, height, state"},
	} {
		_, err := ParseQuery(strings.Split(tc.path, "/"), 100, 1000, "state")
		if err == nil || !strings.Contains(err.Error(), tc.want) || ReasonOf(err) != ReasonBadQuery {
			t.Errorf("%s: %v, want bad_query %q", tc.path, err, tc.want)
		}
	}
}
