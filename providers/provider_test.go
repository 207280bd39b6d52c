package providers

import (
	"strings"
	"testing"
)

func TestLabelValueRoundTripAndCharset(t *testing.T) {
	for _, in := range []string{"cluster.train", "bucket.jobs_2", "jobs_controller.main", "cluster.My-Cluster", "gpu_label_policy.eks", "default"} {
		enc := LabelValue(in)
		if len(enc) > 63 {
			t.Errorf("LabelValue(%q) = %q: longer than 63", in, enc)
		}
		for _, c := range enc {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Errorf("LabelValue(%q) = %q: character %q is not allowed in GCP labels", in, enc, c)
			}
		}
		if got := DecodeLabelValue(enc); got != in {
			t.Errorf("DecodeLabelValue(LabelValue(%q)) = %q", in, got)
		}
	}
	if got := LabelValue("cluster.train"); got != "cluster--train" {
		t.Errorf("LabelValue(cluster.train) = %q, want cluster--train", got)
	}
}

func TestLabelValueLongValuesStayDistinct(t *testing.T) {
	a := "cluster." + strings.Repeat("a", 80)
	b := "cluster." + strings.Repeat("a", 79) + "b"
	ea, eb := LabelValue(a), LabelValue(b)
	if len(ea) > 63 || len(eb) > 63 {
		t.Fatalf("long values not cut: %d, %d", len(ea), len(eb))
	}
	if ea == eb {
		t.Fatalf("distinct long addresses encode the same: %q", ea)
	}
}
