package state

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnmarshalNormalisesAttributes(t *testing.T) {
	doc := `{
  "version": 1,
  "lineage": "9a1f",
  "serial": 12,
  "workspace": "prod",
  "resources": [
    {"address": "cluster.train", "type": "cluster", "cloud": "aws", "ids": ["i-1", "i-2"],
     "attributes": {"nodes": 3, "disk_size": 256.0, "use_spot": false, "instance_type": "p4d.24xlarge",
                    "labels": {"team": "ml"}, "job_clouds": ["aws", "gcp"], "empty_list": [], "empty_map": {}, "unset": null},
     "private": {"config_hash": "abc"}, "depends_on": ["bucket.jobs"], "sensitive_attributes": ["labels"]},
    {"address": "bucket.jobs", "type": "bucket", "cloud": "gcp", "attributes": {"name": "jobs"}}
  ]
}`
	got, err := Unmarshal([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := &State{Version: 1, Lineage: "9a1f", Serial: 12, Workspace: "prod", Resources: []*Resource{
		{Address: "cluster.train", Type: "cluster", Cloud: "aws", IDs: []string{"i-1", "i-2"},
			Attrs: map[string]any{"nodes": int64(3), "disk_size": int64(256), "use_spot": false, "instance_type": "p4d.24xlarge",
				"labels": map[string]string{"team": "ml"}, "job_clouds": []string{"aws", "gcp"},
				"empty_list": []string{}, "empty_map": map[string]string{}, "unset": nil},
			Private: map[string]string{"config_hash": "abc"}, DependsOn: []string{"bucket.jobs"}, Sensitive: []string{"labels"}},
		{Address: "bucket.jobs", Type: "bucket", Cloud: "gcp", Attrs: map[string]any{"name": "jobs"}},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Unmarshal (-want +got):\n%s", d)
	}
	// Marshal then Unmarshal gives the same typed values back.
	b, err := Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) || !strings.HasSuffix(string(b), "}\n") {
		t.Errorf("Marshal output is not one JSON document ending in a newline:\n%s", b)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, back); d != "" {
		t.Errorf("round trip (-first +second):\n%s", d)
	}
}

func TestMarshalEmptyStateHasResourceList(t *testing.T) {
	s := &State{Version: Version, Lineage: "l"}
	b, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"resources": []`) {
		t.Errorf("empty state should carry an empty resources list, got:\n%s", b)
	}
	if s.Resources != nil {
		t.Error("Marshal changed the caller's state")
	}
}

func TestUnmarshalErrors(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"not json", `{"version": 1,`, "state is not valid JSON"},
		{"newer version", `{"version": 2, "lineage": "x", "serial": 1, "resources": []}`, "state version 2 was written by a newer skyplan (this one reads up to 1)"},
		{"missing lineage", `{"version": 1, "serial": 1, "resources": []}`, "state has no lineage"},
		{"wrong shape", `{"version": "one", "lineage": "x"}`, "state is not valid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNormalizeValue(t *testing.T) {
	cases := []struct {
		in   any
		want any
	}{
		{json.Number("42"), int64(42)},
		{json.Number("4e2"), int64(400)},
		{float64(7), int64(7)},
		{int(5), int64(5)},
		{int64(5), int64(5)},
		{"5", "5"},
		{true, true},
		{nil, nil},
		{[]any{"a", "b"}, []string{"a", "b"}},
		{[]any{}, []string{}},
		{map[string]any{"k": "v"}, map[string]string{"k": "v"}},
		{[]string{"x"}, []string{"x"}},
		{map[string]string{"k": "v"}, map[string]string{"k": "v"}},
	}
	for _, tc := range cases {
		if d := cmp.Diff(tc.want, NormalizeValue(tc.in)); d != "" {
			t.Errorf("NormalizeValue(%#v) (-want +got):\n%s", tc.in, d)
		}
	}
}

func TestSetRemoveCloneKeepOrderAndIndependence(t *testing.T) {
	s := New("ws")
	if s.Version != Version || s.Lineage == "" || s.Serial != 0 || s.Workspace != "ws" {
		t.Fatalf("New = %+v", s)
	}
	if New("ws").Lineage == s.Lineage {
		t.Error("two states share a lineage")
	}
	for _, a := range []string{"cluster.b", "bucket.z", "cluster.a"} {
		s.Set(&Resource{Address: a, Attrs: map[string]any{"labels": map[string]string{"v": "1"}}})
	}
	s.Set(&Resource{Address: "bucket.z", Attrs: map[string]any{"name": "replaced"}})
	addrs := func(st *State) []string {
		var out []string
		for _, r := range st.Resources {
			out = append(out, r.Address)
		}
		return out
	}
	if d := cmp.Diff([]string{"bucket.z", "cluster.a", "cluster.b"}, addrs(s)); d != "" {
		t.Errorf("order after Set (-want +got):\n%s", d)
	}
	if got := s.Resource("bucket.z").Attrs["name"]; got != "replaced" {
		t.Errorf("Set did not replace the entry: %v", got)
	}
	c := s.Clone()
	c.Resource("cluster.a").Attrs["labels"].(map[string]string)["v"] = "2"
	c.Remove("cluster.b")
	if got := s.Resource("cluster.a").Attrs["labels"].(map[string]string)["v"]; got != "1" {
		t.Errorf("changing the clone changed the original: %q", got)
	}
	if d := cmp.Diff([]string{"bucket.z", "cluster.a", "cluster.b"}, addrs(s)); d != "" {
		t.Errorf("Remove on the clone changed the original (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"bucket.z", "cluster.a"}, addrs(c)); d != "" {
		t.Errorf("clone after Remove (-want +got):\n%s", d)
	}
	c.Remove("absent") // no-op
	if s.Resource("absent") != nil {
		t.Error("Resource of an absent address is not nil")
	}
}

func TestSetOnUnsortedStateSortsIt(t *testing.T) {
	// A state file edited by hand may list resources in any order.
	s := &State{Version: Version, Lineage: "l", Resources: []*Resource{{Address: "cluster.b"}, {Address: "bucket.z"}}}
	s.Set(&Resource{Address: "cluster.a"})
	var got []string
	for _, r := range s.Resources {
		got = append(got, r.Address)
	}
	if d := cmp.Diff([]string{"bucket.z", "cluster.a", "cluster.b"}, got); d != "" {
		t.Errorf("order after Set (-want +got):\n%s", d)
	}
}
