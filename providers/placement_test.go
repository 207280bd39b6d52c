package providers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/state"
)

// soldOut is a launch that fails with a capacity code in the given zones.
type soldOut struct {
	codes   map[string]string // zone → code
	suggest map[string][]string
	tries   []string
}

var errBroken = errors.New("broken")

func (s *soldOut) launch(_ context.Context, at providers.Placement) error {
	s.tries = append(s.tries, at.String())
	if s.codes[at.String()] == "broken" {
		return errBroken
	}
	if c, ok := s.codes[at.String()]; ok {
		return fmt.Errorf("%s: %w", at, codeError(c))
	}
	return nil
}

type codeError string

func (c codeError) Error() string { return string(c) + ": no capacity" }

func (s *soldOut) failover(places ...providers.Placement) (*providers.Failover, *[]string) {
	var lines []string
	return &providers.Failover{
		Address: "cluster.c",
		Places:  places,
		Wait:    time.Millisecond,
		Pause:   time.Millisecond,
		Refusal: func(err error) *providers.Refusal {
			var c codeError
			if !errors.As(err, &c) {
				return nil
			}
			zone := strings.SplitN(err.Error(), ":", 2)[0]
			return &providers.Refusal{Code: string(c), Message: "sold out", Regional: c == "VcpuLimitExceeded", Suggest: s.suggest[zone]}
		},
		Report: func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) },
	}, &lines
}

func zones(zs ...string) []providers.Placement {
	var out []providers.Placement
	for _, z := range zs {
		out = append(out, providers.Placement{Region: z[:len(z)-1], Zone: z})
	}
	return out
}

func TestFailoverMovesToTheNextCandidate(t *testing.T) {
	s := &soldOut{codes: map[string]string{"us-east-1a": "InsufficientInstanceCapacity"}}
	f, lines := s.failover(zones("us-east-1a", "us-east-1b", "us-east-1c")...)
	at, err := f.Run(context.Background(), s.launch)
	if err != nil || at.Zone != "us-east-1b" {
		t.Fatalf("Run = %v, %v; want us-east-1b", at, err)
	}
	if d := cmp.Diff([]string{"us-east-1a: InsufficientInstanceCapacity; trying us-east-1b"}, *lines); d != "" {
		t.Errorf("progress (-want +got):\n%s", d)
	}
}

func TestFailoverListsEveryRefusal(t *testing.T) {
	s := &soldOut{codes: map[string]string{"us-east-1a": "InsufficientInstanceCapacity", "us-east-1b": "InsufficientInstanceCapacity"},
		suggest: map[string][]string{"us-east-1a": {"us-east-1d"}}}
	f, lines := s.failover(zones("us-east-1a", "us-east-1b")...)
	_, err := f.Run(context.Background(), s.launch)
	if !providers.IsCapacity(err) {
		t.Fatalf("err = %v, want a capacity error", err)
	}
	want := "cluster.c: every placement candidate refused (2 tried):\n" +
		"  us-east-1a: InsufficientInstanceCapacity (sold out)\n" +
		"  us-east-1b: InsufficientInstanceCapacity (sold out)\n" +
		"  the cloud reports capacity in us-east-1d: add them to zones to try them"
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
	if got := (*lines)[len(*lines)-1]; got != "us-east-1b: InsufficientInstanceCapacity; no candidates left" {
		t.Errorf("last progress line %q", got)
	}
}

func TestFailoverTriesSuggestedZonesFirst(t *testing.T) {
	s := &soldOut{codes: map[string]string{"us-east-1a": "InsufficientInstanceCapacity"}, suggest: map[string][]string{"us-east-1a": {"us-east-1c"}}}
	f, _ := s.failover(zones("us-east-1a", "us-east-1b", "us-east-1c")...)
	if at, err := f.Run(context.Background(), s.launch); err != nil || at.Zone != "us-east-1c" {
		t.Fatalf("Run = %v, %v; want the suggested us-east-1c", at, err)
	}
}

func TestFailoverSkipsARegionOutOfQuota(t *testing.T) {
	s := &soldOut{codes: map[string]string{"us-east-1a": "VcpuLimitExceeded"}}
	f, lines := s.failover(zones("us-east-1a", "us-east-1b", "us-west-2a")...)
	at, err := f.Run(context.Background(), s.launch)
	if err != nil || at.Zone != "us-west-2a" {
		t.Fatalf("Run = %v, %v; want us-west-2a", at, err)
	}
	if d := cmp.Diff([]string{"us-east-1a", "us-west-2a"}, s.tries); d != "" {
		t.Errorf("tried (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"us-east-1a: VcpuLimitExceeded (a quota of region us-east-1); trying us-west-2a"}, *lines); d != "" {
		t.Errorf("progress (-want +got):\n%s", d)
	}
}

func TestFailoverStopsOnOtherErrors(t *testing.T) {
	s := &soldOut{codes: map[string]string{"us-east-1a": "broken"}}
	f, _ := s.failover(zones("us-east-1a", "us-east-1b")...)
	if _, err := f.Run(context.Background(), s.launch); !errors.Is(err, errBroken) {
		t.Fatalf("err = %v, want the launch's own error", err)
	}
	if len(s.tries) != 1 {
		t.Errorf("tried %v after an error that is not a refusal", s.tries)
	}
}

// A place is retried in place only within the capacity wait.
func TestFailoverRetriesInPlaceWithinTheWait(t *testing.T) {
	s := &soldOut{codes: map[string]string{"us-east-1a": "InsufficientInstanceCapacity"}}
	f, lines := s.failover(zones("us-east-1a", "us-east-1b")...)
	f.Wait = 50 * time.Millisecond
	f.Pause = 10 * time.Millisecond
	if _, err := f.Run(context.Background(), s.launch); err != nil {
		t.Fatal(err)
	}
	// Pauses of 10, 20 ms fit in 50 ms; the next (40 ms) would not.
	if d := cmp.Diff([]string{"us-east-1a", "us-east-1a", "us-east-1a", "us-east-1b"}, s.tries); d != "" {
		t.Errorf("tried (-want +got):\n%s", d)
	}
	if !strings.Contains((*lines)[0], "retrying there in 10ms") {
		t.Errorf("progress %q", *lines)
	}
}

func TestPlacementsFromAttributes(t *testing.T) {
	regionOf := func(z string) string { return z[:len(z)-1] }
	cases := []struct {
		attrs state.Attrs
		want  []providers.Placement
	}{
		{state.Attrs{"zone": "us-east-1b", "zones": []string{"us-east-1b", "us-west-2a"}, "region": "us-east-1"}, zones("us-east-1b", "us-west-2a")},
		{state.Attrs{"region": "us-east-1", "regions": []string{"us-east-1", "eu-west-1"}}, []providers.Placement{{Region: "us-east-1"}, {Region: "eu-west-1"}}},
		{state.Attrs{"zone": "us-east-1b"}, zones("us-east-1b")},
		{state.Attrs{"region": "us-east-1"}, []providers.Placement{{Region: "us-east-1"}}},
	}
	for _, tc := range cases {
		if d := cmp.Diff(tc.want, providers.Placements(tc.attrs, regionOf)); d != "" {
			t.Errorf("Placements(%v) (-want +got):\n%s", tc.attrs, d)
		}
	}
}

// Two generations at one address are two owners: each apply acts on its own
// generation's objects only, and generation 0 carries no tag.
func TestGenerationsAreDistinctOwners(t *testing.T) {
	first := providers.Owner{Workspace: "w", Address: "cluster.c", StateID: "s"}
	second := first
	second.Generation = 2
	if _, tagged := first.Tags()[providers.TagGeneration]; tagged {
		t.Errorf("generation 0 tags %v, want no generation tag", first.Tags())
	}
	back, ok := providers.OwnerOfTags(second.Tags())
	if !ok || back != second {
		t.Errorf("OwnerOfTags(%v) = %+v, want %+v", second.Tags(), back, second)
	}
	labels, ok := providers.OwnerOfLabels(second.Labels(), providers.DecodeLabelValue)
	if !ok || labels.Generation != 2 {
		t.Errorf("OwnerOfLabels(%v) = %+v, want generation 2", second.Labels(), labels)
	}
	if first.Owns(second, false) || second.Owns(first, true) {
		t.Error("an owner of one generation owns the other's objects")
	}
	if !second.Owns(back, false) {
		t.Error("an owner does not own its own generation's objects")
	}
}
