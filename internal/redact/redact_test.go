package redact_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/skyplan/skyplan/internal/redact"
)

func TestWriterRedactsSecretsSplitAcrossWrites(t *testing.T) {
	var s redact.Secrets
	if short := s.Add("s3cr3t-bucket", "eu", "t3.micro"); len(short) != 1 || short[0] != "eu" {
		t.Fatalf("too short: %v", short)
	}
	var out bytes.Buffer
	w := redact.NewWriter(&out, &s)
	for _, piece := range []string{"creating bucket s3c", "r3t-bucket in eu-west-1\n", "launching node 0 (t3.mi", "cro)", " [id=s3cr3t-bucket]"} {
		fmt.Fprint(w, piece)
	}
	if strings.Contains(out.String(), "launching") {
		t.Errorf("an unfinished line was written before its end: %q", out.String())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "creating bucket (sensitive value) in eu-west-1\nlaunching node 0 ((sensitive value)) [id=(sensitive value)]"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}

// Escaped spellings (JSON, %q) are caught, and a secret containing another
// is replaced whole.
func TestEscapedFormsAndOverlaps(t *testing.T) {
	var s redact.Secrets
	s.Add(`pa"ss<word>`, "pass-phrase", "pass-phrase-2")
	got := s.Redact(`{"v": "pa\"ss\u003cword\u003e"} err: "pa\"ss<word>" pass-phrase-2 pass-phrase`)
	want := `{"v": "(sensitive value)"} err: "(sensitive value)" (sensitive value) (sensitive value)`
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestSecretsAddedLaterApplyToLaterLines(t *testing.T) {
	var s redact.Secrets
	var out bytes.Buffer
	w := redact.NewWriter(&out, &s)
	fmt.Fprintln(w, "before: hunter22")
	s.Add("hunter22")
	fmt.Fprintln(w, "after: hunter22")
	if got := out.String(); got != "before: hunter22\nafter: (sensitive value)\n" {
		t.Errorf("got %q", got)
	}
}
