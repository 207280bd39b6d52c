package main

import (
	"strings"
	"testing"
	"time"

	"github.com/skyplan/skyplan/providers"
)

// --capacity-wait, else SKYPLAN_CAPACITY_WAIT, else the default; a bad
// value is an error naming its source.
func TestCapacityWaitResolves(t *testing.T) {
	cases := []struct {
		flag    time.Duration
		env     string
		want    time.Duration
		wantErr string
	}{
		{want: providers.DefaultCapacityWait},
		{env: "SKYPLAN_CAPACITY_WAIT=2m", want: 2 * time.Minute},
		{flag: 5 * time.Second, env: "SKYPLAN_CAPACITY_WAIT=2m", want: 5 * time.Second},
		{env: "SKYPLAN_CAPACITY_WAIT=soon", wantErr: `SKYPLAN_CAPACITY_WAIT="soon" is not a duration`},
		{flag: -time.Second, wantErr: "--capacity-wait -1s must be positive"},
	}
	for _, tc := range cases {
		g := &Globals{CapacityWait: tc.flag}
		if tc.env != "" {
			g.Env = []string{tc.env}
		}
		l, err := g.resolveLimits()
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v: err = %v, want %q", tc, err, tc.wantErr)
			}
		case err != nil || l.CapacityWait != tc.want:
			t.Errorf("%+v: CapacityWait = %s, %v; want %s", tc, l.CapacityWait, err, tc.want)
		}
	}
}
