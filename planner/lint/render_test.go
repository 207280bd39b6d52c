package lint

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

const showcase = clouds + `
bucket "bad" {
  cloud = "aws"
  name  = "Bad_Bucket"
}
cluster "tpu" {
  cloud           = "gcp"
  zone            = "us-central1-b"
  accelerators    = "tpu-v3-8"
  runtime_version = "tpu-vm-base"
  tpu_vm          = false
}
`

func showcaseReport(t *testing.T) *Report {
	return Static(load(t, showcase), nil)
}

// validateSARIF checks a document against the SARIF 2.1.0 JSON schema that
// go-sarif embeds (the OASIS schema).
func validateSARIF(t *testing.T, doc []byte) error {
	t.Helper()
	rep, err := sarif.FromBytes(doc, sarif.WithStrictValidation())
	if err != nil {
		return err
	}
	return rep.Validate()
}

func TestSARIFIsValidAndCarriesRulesAndLocations(t *testing.T) {
	rep := showcaseReport(t)
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, rep, "1.2.3", "specs/prod"); err != nil {
		t.Fatal(err)
	}
	if err := validateSARIF(t, buf.Bytes()); err != nil {
		t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v\n%s", err, buf.String())
	}
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					Rules   []struct {
						ID                   string `json:"id"`
						Name                 string `json:"name"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || len(doc.Runs) != 1 || doc.Runs[0].Tool.Driver.Name != "skyplan" || doc.Runs[0].Tool.Driver.Version != "1.2.3" {
		t.Fatalf("header: %+v", doc)
	}
	if got := len(doc.Runs[0].Tool.Driver.Rules); got != len(Rules()) {
		t.Errorf("rules metadata: %d, want %d", got, len(Rules()))
	}
	levels := map[string]string{}
	for _, r := range doc.Runs[0].Tool.Driver.Rules {
		levels[r.ID] = r.DefaultConfiguration.Level
	}
	if levels["SP-BKT-001"] != "error" || levels["SP-K8S-001"] != "warning" {
		t.Errorf("rule levels: %v", levels)
	}
	results := map[string]string{}
	for _, r := range doc.Runs[0].Results {
		loc := r.Locations[0].PhysicalLocation
		results[r.RuleID] = loc.ArtifactLocation.URI + ":" + itoa(loc.Region.StartLine)
	}
	if results["SP-BKT-001"] != "specs/prod/main.hcl:13" || results["SP-GCP-001"] != "specs/prod/main.hcl:20" {
		t.Errorf("result locations: %v", results)
	}
}

func TestSARIFValidatorRejectsInvalidDocuments(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, showcaseReport(t), "1", ""); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(buf.String(), `"level": "error"`, `"level": "fatal"`, 1)
	if bad == buf.String() {
		t.Fatal("no level to corrupt")
	}
	if err := validateSARIF(t, []byte(bad)); err == nil {
		t.Fatal("the schema check accepted level \"fatal\": it would not catch real mistakes")
	}
}

func TestJSONAndTextOutput(t *testing.T) {
	rep := showcaseReport(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		FormatVersion string `json:"format_version"`
		Findings      []struct {
			RuleID   string `json:"rule_id"`
			Severity string `json:"severity"`
			Fix      string `json:"fix"`
			Location struct {
				File string `json:"file"`
				Line int    `json:"line"`
			} `json:"location"`
		} `json:"findings"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.FormatVersion != "1" || doc.Summary["errors"] != 2 || len(doc.Findings) != 2 {
		t.Fatalf("json: %+v", doc)
	}
	if f := doc.Findings[0]; f.RuleID != "SP-BKT-001" || f.Location.File != "main.hcl" || f.Location.Line != 13 || f.Fix == "" {
		t.Errorf("first finding: %+v", f)
	}
	buf.Reset()
	if err := WriteText(&buf, rep, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"error[SP-BKT-001] bucket-name-invalid:", "--> main.hcl:13:", "fix: name = ", "error[SP-GCP-001]", "2 error(s), 0 warning(s)"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, buf.String())
		}
	}
	if strings.Contains(buf.String(), "\x1b[") {
		t.Errorf("color codes without color")
	}
}

// Every rule has its section and its row in docs/lint-rules.md.
func TestEveryRuleIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/lint-rules.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules() {
		for _, want := range []string{"## " + r.ID + " " + r.Name + "\n", "| " + r.Name + " |"} {
			if !strings.Contains(string(doc), want) {
				t.Errorf("docs/lint-rules.md lacks %q", strings.TrimSpace(want))
			}
		}
	}
}
