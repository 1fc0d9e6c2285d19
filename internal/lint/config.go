package lint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is hadolint's configuration file (.hadolint.yaml), plus nothing
// else: a repository configured for hadolint lints the same way here.
// The zero value is hadolint's default configuration.
type Config struct {
	// Path is the file the configuration was read from, if any.
	Path string
	// Ignored lists rule codes that are never reported.
	Ignored []string
	// FailureThreshold is error, warning, info, style or none; empty means info.
	FailureThreshold string
	// Override changes the severity of rules, keyed by rule code.
	Override map[string]Severity
	// TrustedRegistries switches on DL3026: images must come from these
	// registries ("docker.io", "*.example.com", "*").
	TrustedRegistries []string
	// LabelSchema switches on DL3049-DL3058: label name -> type.
	LabelSchema map[string]string
	// StrictLabels reports labels missing from LabelSchema (DL3050).
	StrictLabels bool
	// DisableIgnorePragma makes `# hadolint ignore=` comments ineffective.
	DisableIgnorePragma bool
	// NoFail asks callers not to fail on findings (hadolint --no-fail).
	NoFail bool
}

// Threshold returns the failure threshold, defaulting to info as hadolint does.
func (c *Config) Threshold() Severity {
	if c == nil || c.FailureThreshold == "" {
		return DefaultFailureThreshold
	}
	s, err := ParseSeverity(c.FailureThreshold)
	if err != nil {
		return DefaultFailureThreshold
	}
	return s
}

// LabelTypes are the types a label-schema entry may have.
var LabelTypes = []string{"text", "url", "rfc3339", "spdx", "hash", "semver", "email"}

// ConfigFileNames are the names FindConfig looks for, in order.
var ConfigFileNames = []string{".hadolint.yaml", ".hadolint.yml"}

var configKeys = []string{
	"disable-ignore-pragma", "failure-threshold", "format", "ignored", "label-schema",
	"no-color", "no-fail", "output-format", "override", "strict-labels",
	"trusted-registries", "trustedRegistries", "verbose",
}

var ruleCodePattern = regexp.MustCompile(`^[A-Z]{2,3}[0-9]{3,4}$`)

// FindConfig looks for .hadolint.yaml or .hadolint.yml in root.
func FindConfig(root string) (string, bool) {
	for _, name := range ConfigFileNames {
		p := filepath.Join(root, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// LoadConfig reads and validates a hadolint configuration file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lint config: cannot read %s: %w", path, err)
	}
	return ParseConfig(path, data)
}

// ParseConfig validates hadolint configuration text; path names the file in
// errors. Every problem is reported, each naming the key and what it accepts.
func ParseConfig(path string, data []byte) (*Config, error) {
	cfg := &Config{Path: path}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("lint config %s is not valid YAML: %w", path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return cfg, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cfg, nil
	}
	p := &configParser{path: path}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "", "the file must be a mapping of keys such as ignored, override and failure-threshold")
		return nil, p.err()
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "ignored":
			cfg.Ignored = append(cfg.Ignored, p.codes(v, "ignored")...)
		case "failure-threshold":
			if s, ok := p.scalar(v, k.Value); ok {
				if _, err := ParseSeverity(s); err != nil {
					p.errorf(v, k.Value, "%q is not a severity: use one of %s", s, strings.Join(severityNames, ", "))
				} else {
					cfg.FailureThreshold = strings.ToLower(s)
				}
			}
		case "override":
			cfg.Override = p.override(v)
		case "trustedRegistries", "trusted-registries":
			cfg.TrustedRegistries = append(cfg.TrustedRegistries, p.stringOrList(v, k.Value)...)
		case "label-schema":
			cfg.LabelSchema = p.labelSchema(v)
		case "strict-labels":
			cfg.StrictLabels = p.boolean(v, k.Value)
		case "disable-ignore-pragma":
			cfg.DisableIgnorePragma = p.boolean(v, k.Value)
		case "no-fail":
			cfg.NoFail = p.boolean(v, k.Value)
		case "no-color", "verbose":
			p.boolean(v, k.Value) // accepted for compatibility; output here has no colour or verbosity
		case "format", "output-format":
			p.scalar(v, k.Value) // accepted for compatibility; the caller picks the report format
		default:
			p.errorf(k, "", "unknown key %q: accepted keys are %s", k.Value, strings.Join(configKeys, ", "))
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

type configParser struct {
	path string
	errs []error
}

func (p *configParser) errorf(n *yaml.Node, key, format string, args ...any) {
	where := p.path
	if n != nil && n.Line > 0 {
		where = fmt.Sprintf("%s:%d", p.path, n.Line)
	}
	if key != "" {
		where += ": " + key
	}
	p.errs = append(p.errs, fmt.Errorf("lint config %s: %s", where, fmt.Sprintf(format, args...)))
}

func (p *configParser) err() error { return errors.Join(p.errs...) }

func (p *configParser) scalar(n *yaml.Node, key string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, key, "expected a single value")
		return "", false
	}
	return n.Value, true
}

func (p *configParser) boolean(n *yaml.Node, key string) bool {
	s, ok := p.scalar(n, key)
	if !ok {
		return false
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true
	case "false", "no", "off":
		return false
	}
	p.errorf(n, key, "%q is not a boolean: use true or false", s)
	return false
}

func (p *configParser) stringOrList(n *yaml.Node, key string) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return []string{n.Value}
	case yaml.SequenceNode:
		var out []string
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				p.errorf(item, key, "expected a list of strings")
				continue
			}
			out = append(out, item.Value)
		}
		return out
	}
	p.errorf(n, key, "expected a string or a list of strings")
	return nil
}

func (p *configParser) codes(n *yaml.Node, key string) []string {
	var out []string
	for _, c := range p.stringOrList(n, key) {
		c = strings.TrimSpace(c)
		if !ruleCodePattern.MatchString(c) {
			p.errorf(n, key, "%q is not a rule code: use codes such as DL3008, SC2086 or IP001", c)
			continue
		}
		out = append(out, c)
	}
	return out
}

func (p *configParser) override(n *yaml.Node) map[string]Severity {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "override", "expected a mapping with lists named error, warning, info or style")
		return nil
	}
	out := map[string]Severity{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var sev Severity
		switch k.Value {
		case "error":
			sev = SeverityError
		case "warning":
			sev = SeverityWarning
		case "info":
			sev = SeverityInfo
		case "style":
			sev = SeverityStyle
		default:
			p.errorf(k, "override", "unknown severity %q: accepted lists are error, warning, info and style", k.Value)
			continue
		}
		for _, c := range p.codes(v, "override."+k.Value) {
			out[c] = sev
		}
	}
	return out
}

func (p *configParser) labelSchema(n *yaml.Node) map[string]string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "label-schema", "expected a mapping of label name to type (%s)", strings.Join(LabelTypes, ", "))
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		t, ok := p.scalar(v, "label-schema."+k.Value)
		if !ok {
			continue
		}
		if !containsString(LabelTypes, t) {
			p.errorf(v, "label-schema."+k.Value, "unknown label type %q: use one of %s", t, strings.Join(LabelTypes, ", "))
			continue
		}
		out[k.Value] = t
	}
	return out
}

// sortedKeys returns the keys of a string map in order.
func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParseCodeList reads a comma- or space-separated list of rule codes, such
// as the lint-ignore input "DL3008, DL3015". The error names each code that
// is not a rule code.
func ParseCodeList(s string) ([]string, error) {
	var codes []string
	var errs []error
	for _, c := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		if !ruleCodePattern.MatchString(c) {
			errs = append(errs, fmt.Errorf("%q is not a rule code: use codes such as DL3008, SC2086 or IP001", c))
			continue
		}
		codes = append(codes, c)
	}
	return codes, errors.Join(errs...)
}
