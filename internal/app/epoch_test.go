package app

import (
	"testing"
	"time"
)

func TestSourceDateEpoch(t *testing.T) {
	commit := time.Date(2026, 3, 3, 10, 21, 40, 0, time.FixedZone("CET", 3600))
	cases := []struct {
		name     string
		env      string
		commit   time.Time
		want     time.Time
		wantFrom string
		wantBad  bool
	}{
		{name: "the commit's time", commit: commit, want: commit.UTC(), wantFrom: "the commit's time"},
		{name: "the runner's SOURCE_DATE_EPOCH wins", env: "1700000000", commit: commit, want: time.Unix(1700000000, 0).UTC(), wantFrom: "SOURCE_DATE_EPOCH"},
		{name: "not a number", env: "yesterday", commit: commit, want: commit.UTC(), wantFrom: "the commit's time", wantBad: true},
		{name: "negative", env: "-5", commit: commit, want: commit.UTC(), wantFrom: "the commit's time", wantBad: true},
		{name: "nothing known"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, from, bad := sourceDateEpoch(func(k string) string {
				if k == "SOURCE_DATE_EPOCH" {
					return tc.env
				}
				return ""
			}, tc.commit)
			if !got.Equal(tc.want) || from != tc.wantFrom || bad != tc.wantBad {
				t.Errorf("sourceDateEpoch = %v, %q, %v; want %v, %q, %v", got, from, bad, tc.want, tc.wantFrom, tc.wantBad)
			}
		})
	}
}
