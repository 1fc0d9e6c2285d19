package sign

import (
	"errors"
	"fmt"
	"strings"

	"github.com/org/image-pipeline/internal/textfmt"
)

// Commands are the commands a consumer runs to verify this run's work,
// with its real values.
type Commands struct {
	// Signature is `cosign verify …`.
	Signature string
	// Attestation is `cosign verify-attestation --type … …` ("" when the
	// SBOM was not attested).
	Attestation string
}

// VerifyCommands returns the cosign commands (v2.6 and v3 alike) that
// verify what res holds, for its first repository.
func VerifyCommands(o Options, res *Result) Commands {
	if res == nil || len(res.Repositories) == 0 {
		return Commands{}
	}
	image := res.Repositories[0].Repository + "@" + res.Digest
	var flags []string
	if res.Keyless {
		flags = append(flags,
			"--certificate-identity "+shellQuote(res.Identity),
			"--certificate-oidc-issuer "+shellQuote(res.Issuer))
	} else {
		flags = append(flags, "--key cosign.pub")
	}
	if o.TrustedRoot != "" {
		flags = append(flags, "--trusted-root "+shellQuote(o.TrustedRoot))
	}
	if res.Keyless && res.NoCTLog {
		flags = append(flags, "--insecure-ignore-sct=true")
	}
	if !res.Tlog {
		flags = append(flags, "--insecure-ignore-tlog=true")
	} else if res.RekorURL != DefaultRekorURL && o.TrustedRoot == "" {
		flags = append(flags, "--rekor-url "+shellQuote(res.RekorURL))
	}
	f := strings.Join(flags, " ")
	sigFlags := strings.Join(append(flags, annotationFlags(res.Annotations)...), " ")
	c := Commands{Signature: "cosign verify " + sigFlags + " " + image}
	if res.Attested() {
		c.Attestation = "cosign verify-attestation --type " + cliPredicateType(res.PredicateType) + " " + f + " " + image
	}
	return c
}

// cliPredicateType is the --type value cosign maps to a predicate type.
func cliPredicateType(pt string) string {
	switch pt {
	case PredicateCycloneDX:
		return "cyclonedx"
	case PredicateSPDX:
		return "spdxjson"
	}
	return shellQuote(pt)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func summaryMarkdown(o Options, res *Result, cmds Commands, req Request) string {
	var b strings.Builder
	how := "with the key of " + InputKey
	if res.Keyless {
		how = fmt.Sprintf("keyless: a Fulcio certificate for %s (issuer %s)", textfmt.Code(res.Identity), textfmt.Code(res.Issuer))
	}
	if res.SignedBefore {
		fmt.Fprintf(&b, "%s was already signed %s (a run before this one): nothing new was signed, logged or written; the signatures found were verified. Why signed: %s.\n\n", textfmt.Code(res.Digest), how, o.whySigned())
	} else {
		fmt.Fprintf(&b, "Signed %s once, %s. Why: %s.\n\n", textfmt.Code(res.Digest), how, o.whySigned())
	}
	b.WriteString("| Repository | Signature | SBOM attestation |\n|---|---|---|\n")
	for _, w := range res.Repositories {
		sig := textfmt.Code(w.SignatureRef)
		if w.Unchanged {
			sig += " (already there, unchanged)"
		}
		att := "—"
		if w.AttestationRef != "" {
			att = textfmt.Code(w.AttestationRef)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", textfmt.Code(w.Repository), sig, att)
	}
	b.WriteString("\n")
	switch {
	case res.Attested():
		fmt.Fprintf(&b, "The SBOM (%s) is attested as an in-toto predicate %s on the same digest.\n", textfmt.Code(req.SBOMFormat), textfmt.Code(res.PredicateType))
	case o.NoAttestSBOM:
		fmt.Fprintf(&b, "The SBOM was not attested: %s is false.\n", InputAttestSBOM)
	default:
		b.WriteString("The SBOM was not attested: the scan stage produced no SBOM.\n")
	}
	if len(res.Annotations) > 0 {
		fmt.Fprintf(&b, "The signature carries the annotations %s (`cosign verify -a key=value` checks them).\n", annotationList(res.Annotations, textfmt.Code))
	} else {
		b.WriteString("The signature carries no annotations.\n")
	}
	fmt.Fprintf(&b, "Storage: %s. ", textfmt.Code(string(res.Format)))
	if res.Tlog && len(res.LogIndexes) == 0 {
		fmt.Fprintf(&b, "Transparency log: %s (the entries of the run that signed it). ", res.RekorURL)
	} else if res.Tlog {
		fmt.Fprintf(&b, "Transparency log: %s, entries %s. ", res.RekorURL, joinInts(res.LogIndexes))
	} else {
		fmt.Fprintf(&b, "Transparency log: none (%s is false). ", InputTlog)
	}
	if res.Verified {
		if res.SignedBefore {
			b.WriteString("Verified with the cosign library.\n")
		} else {
			b.WriteString("Verified with the cosign library after writing.\n")
		}
	}
	b.WriteString("\nVerify it (cosign v2.6 or v3):\n\n```sh\n" + cmds.Signature + "\n")
	if cmds.Attestation != "" {
		b.WriteString(cmds.Attestation + "\n")
	}
	b.WriteString("```\n")
	if !res.Keyless && res.PublicKeyPEM != "" {
		b.WriteString("\nwhere `cosign.pub` holds the public key of this run's key:\n\n```\n" + strings.TrimSpace(res.PublicKeyPEM) + "\n```\n")
	}
	return b.String()
}

func failureMarkdown(digest string, res *Result, err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Signing failed: %s\n\n", strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " "))
	fmt.Fprintf(&b, "The image stays pushed at %s. ", textfmt.Code(digest))
	var we *WriteError
	if !errors.As(err, &we) {
		b.WriteString("No signature or attestation was written.\n")
		return b.String()
	}
	if len(we.Written) == 0 && we.Partial == "" {
		b.WriteString("No signature was written.\n")
	}
	for _, w := range we.Written {
		fmt.Fprintf(&b, "%s holds its signature %s. ", textfmt.Code(w.Repository), textfmt.Code(w.SignatureRef))
	}
	if we.Partial != "" {
		fmt.Fprintf(&b, "%s holds the SBOM attestation but no signature. ", textfmt.Code(we.Partial))
	}
	if res != nil && len(we.Written) > 0 && !res.Verified {
		b.WriteString("What was written could not be verified.")
	}
	b.WriteString("\n")
	return b.String()
}

func joinInts(n []int64) string {
	s := make([]string, len(n))
	for i, v := range n {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}
