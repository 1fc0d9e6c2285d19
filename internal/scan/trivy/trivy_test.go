package trivy

import (
	"slices"
	"testing"

	dbTypes "github.com/aquasecurity/trivy-db/pkg/types"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"

	"github.com/org/image-pipeline/internal/scan"
)

// TestTrivyZeroValueTraps pins the options handed to Trivy: each nil here
// makes Trivy report nothing or every severity as UNKNOWN.
func TestTrivyZeroValueTraps(t *testing.T) {
	s, err := scan.Options{}.Settings()
	if err != nil {
		t.Fatal(err)
	}
	so := scanOptions(s)
	if !slices.Equal(so.PkgTypes, []string{"os", "library"}) {
		t.Errorf("PkgTypes = %v", so.PkgTypes)
	}
	if !slices.Equal(so.PkgRelationships, ftypes.Relationships) {
		t.Errorf("PkgRelationships = %v, want every relationship %v", so.PkgRelationships, ftypes.Relationships)
	}
	if !slices.Equal(so.VulnSeveritySources, []dbTypes.SourceID{"auto"}) {
		t.Errorf("VulnSeveritySources = %v, want [auto]", so.VulnSeveritySources)
	}
	if !so.Scanners.Enabled("vuln") || !so.Scanners.Enabled("sbom") {
		t.Errorf("Scanners = %v, want vuln and sbom", so.Scanners)
	}
	fo := filterOptions(s)
	if len(fo.Severities) != 5 || fo.IgnoreStatuses != nil {
		t.Errorf("filter: severities %v, ignored statuses %v", fo.Severities, fo.IgnoreStatuses)
	}
	s.IgnoreUnfixed = true
	for _, st := range filterOptions(s).IgnoreStatuses {
		if st == dbTypes.StatusFixed {
			t.Error("ignore-unfixed ignores fixed findings")
		}
	}
	ao := artifactOptions(s)
	if ao.Parallel == 0 || !ao.FileChecksum || ao.DetectionPriority != ftypes.PriorityPrecise {
		t.Errorf("artifact options %+v", ao)
	}
}
