package lint

import (
	"fmt"
	"strings"
)

// Severity orders findings. The zero value is SeverityNone: a rule at that
// severity is switched off, and a failure threshold of none never trips.
type Severity int

// Severities from least to most severe.
const (
	SeverityNone Severity = iota
	SeverityStyle
	SeverityInfo
	SeverityWarning
	SeverityError
)

// severityNames lists the accepted spellings in the order shown to users.
var severityNames = []string{"error", "warning", "info", "style", "none"}

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	case SeverityInfo:
		return "info"
	case SeverityStyle:
		return "style"
	default:
		return "none"
	}
}

// ParseSeverity reads error, warning, info, style or none (case-insensitive).
// "ignore", hadolint's name for a switched-off rule, is read as none.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "error":
		return SeverityError, nil
	case "warning":
		return SeverityWarning, nil
	case "info":
		return SeverityInfo, nil
	case "style":
		return SeverityStyle, nil
	case "none", "ignore":
		return SeverityNone, nil
	}
	return SeverityNone, fmt.Errorf("%q is not a severity: use one of %s", s, strings.Join(severityNames, ", "))
}

// DefaultFailureThreshold is hadolint's default: info and above fail.
const DefaultFailureThreshold = SeverityInfo

// Gate reports whether the findings trip a failure threshold: true when at
// least one finding is at or above threshold. A threshold of none never trips.
func Gate(findings []Finding, threshold Severity) bool {
	if threshold == SeverityNone {
		return false
	}
	for _, f := range findings {
		if s, err := ParseSeverity(f.Severity); err == nil && s != SeverityNone && s >= threshold {
			return true
		}
	}
	return false
}

// Counts is the number of findings at each severity.
type Counts struct {
	Error, Warning, Info, Style int
}

// Total is the number of findings counted.
func (c Counts) Total() int { return c.Error + c.Warning + c.Info + c.Style }

// CountBySeverity counts findings per severity.
func CountBySeverity(findings []Finding) Counts {
	var c Counts
	for _, f := range findings {
		switch f.Severity {
		case "error":
			c.Error++
		case "warning":
			c.Warning++
		case "info":
			c.Info++
		case "style":
			c.Style++
		}
	}
	return c
}
