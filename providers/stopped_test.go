package providers

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func TestStoppedNodesRoundTripAndMalformedEntries(t *testing.T) {
	nodes := []StoppedNode{{Rank: 0, Name: "i-0a", State: "stopped"}, {Rank: -1, Name: "i-0b", State: "stopping"}}
	if diff := cmp.Diff(nodes, DecodeStoppedNodes(EncodeStoppedNodes(nodes))); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	got := DecodeStoppedNodes("x:i-1:stopped,2:i-2:TERMINATED,,garbage,-7:i-3:stopped")
	want := []StoppedNode{{Rank: 2, Name: "i-2", State: "TERMINATED"}, {Rank: -1, Name: "i-3", State: "stopped"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("malformed entries (-want +got):\n%s", diff)
	}
}

func TestExpandStoppedNodes(t *testing.T) {
	note := func(n StoppedNode, nodes int64) string {
		if int64(n.Rank) < nodes {
			return "start " + n.Name
		}
		return "remove " + n.Name
	}
	observed := &state.Resource{Private: map[string]string{AttrStoppedNodes: "0:a:stopped,2:c:stopped"}}
	cluster := &spec.Resource{Type: spec.TypeCluster, Name: "c", Attrs: map[string]any{"nodes": int64(2)}}
	attrs, notes := ExpandStoppedNodes(cluster, observed, note)
	if diff := cmp.Diff([]string{"start a", "remove c"}, notes); diff != "" {
		t.Errorf("cluster notes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"nodes": int64(2), AttrStoppedNodes: []string{}}, attrs); diff != "" {
		t.Errorf("cluster attrs (-want +got):\n%s", diff)
	}
	if _, touched := cluster.Attrs[AttrStoppedNodes]; touched {
		t.Error("the spec's attribute map was modified")
	}
	// A controller has one node: rank 0 is kept.
	ctrl := &spec.Resource{Type: spec.TypeJobsController, Name: "main", Attrs: map[string]any{"cloud": "aws"}}
	if _, notes := ExpandStoppedNodes(ctrl, observed, note); !cmp.Equal(notes, []string{"start a", "remove c"}) {
		t.Errorf("controller notes = %q", notes)
	}
	// Buckets, nothing observed, nothing stopped: passed through.
	for _, tc := range []struct {
		r   *spec.Resource
		obs *state.Resource
	}{
		{&spec.Resource{Type: spec.TypeBucket, Name: "b", Attrs: map[string]any{"name": "b"}}, observed},
		{cluster, nil},
		{cluster, &state.Resource{Private: map[string]string{"kind": "gce"}}},
	} {
		attrs, notes := ExpandStoppedNodes(tc.r, tc.obs, note)
		if notes != nil || !cmp.Equal(attrs, tc.r.Attrs) {
			t.Errorf("%s: got %v, %q; want passed through", tc.r.Address(), attrs, notes)
		}
	}
}

func TestOverlayTakesStoppedNodesOnlyFromTheObservation(t *testing.T) {
	base := map[string]any{"image": "ami-1", "nodes": int64(3), AttrStoppedNodes: []string{}}
	got := Overlay(base, map[string]any{"nodes": int64(2)})
	if diff := cmp.Diff(map[string]any{"image": "ami-1", "nodes": int64(2)}, got); diff != "" {
		t.Errorf("overlay without stopped nodes (-want +got):\n%s", diff)
	}
	got = Overlay(base, map[string]any{AttrStoppedNodes: []string{"i-1"}})
	if diff := cmp.Diff([]string{"i-1"}, got[AttrStoppedNodes]); diff != "" {
		t.Errorf("observed stopped_nodes (-want +got):\n%s", diff)
	}

	r := &state.Resource{}
	RecordStoppedNodes(r, nil)
	if r.Attrs != nil || r.Private != nil {
		t.Errorf("nothing stopped, yet recorded: %+v", r)
	}
	RecordStoppedNodes(r, []StoppedNode{{Rank: 1, Name: "i-1", State: "stopped"}})
	if !cmp.Equal(r.Attrs[AttrStoppedNodes], []string{"i-1"}) || r.Private[AttrStoppedNodes] != "1:i-1:stopped" {
		t.Errorf("recorded %+v", r)
	}
}
