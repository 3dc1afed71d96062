package predict

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/churnlab/churn/features"
)

//go:embed playbook.yaml
var defaultPlaybookYAML []byte

// Stages are the lifecycle stages a playbook distinguishes, as the
// lifecycle_stage feature names them.
var Stages = []string{features.StageOnboarding, features.StageActive, features.StageRenewal, features.StagePastEnd}

// Playbook maps the category of a customer's top reason and its lifecycle
// stage to a recommended action and the role that owns it. It is data:
// the built-in one is playbook.yaml, embedded in the binary; a user file
// overrides it entry by entry (LoadPlaybook). A Playbook is immutable once
// loaded and safe for concurrent use.
type Playbook struct {
	Version    int                      `yaml:"version"`
	Categories map[string]*CategoryPlay `yaml:"categories"`
	// LowRisk is the play for customers in the low risk tier, whatever
	// their reasons: their small risk does not warrant the category's
	// intervention. Nil means they get their category's play too.
	LowRisk *Play `yaml:"low_risk"`
	// Features maps feature names or globs (path.Match syntax, e.g.
	// "nps_*") to categories, overriding the built-in mapping.
	Features map[string]string `yaml:"features"`
}

// CategoryPlay holds the plays of one reason category: a default and,
// optionally, one per lifecycle stage.
type CategoryPlay struct {
	Description     string `yaml:"description"`
	Default         *Play  `yaml:"default"`
	Onboarding      *Play  `yaml:"onboarding"`
	Active          *Play  `yaml:"active"`
	Renewal         *Play  `yaml:"renewal"`
	PastContractEnd *Play  `yaml:"past_contract_end"`
}

// Play is one recommended action and who owns it.
type Play struct {
	Action    string `yaml:"action"`
	OwnerRole string `yaml:"owner_role"`
}

func (c *CategoryPlay) stage(s string) **Play {
	switch s {
	case features.StageOnboarding:
		return &c.Onboarding
	case features.StageActive:
		return &c.Active
	case features.StageRenewal:
		return &c.Renewal
	case features.StagePastEnd:
		return &c.PastContractEnd
	}
	return &c.Default
}

// DefaultPlaybook returns a copy of the built-in playbook.
func DefaultPlaybook() *Playbook {
	pb, err := parsePlaybook("playbook.yaml (built in)", defaultPlaybookYAML)
	if err != nil {
		panic(fmt.Sprintf("predict: the built-in playbook is invalid: %v", err))
	}
	return pb
}

// LoadPlaybook reads a user playbook and merges it over the built-in one:
// each category, stage entry and feature mapping it gives replaces the
// built-in one; a new category needs a default entry and features mapped
// to it.
func LoadPlaybook(file string) (*Playbook, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("playbook: %w", err)
	}
	user, err := parsePlaybook(file, b)
	if err != nil {
		return nil, err
	}
	pb := DefaultPlaybook()
	pb.merge(user)
	if err := pb.Validate(); err != nil {
		return nil, &ConfigError{File: file, Err: err}
	}
	return pb, nil
}

func parsePlaybook(name string, src []byte) (*Playbook, error) {
	var pb Playbook
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&pb); err != nil {
		return nil, yamlError(name, err)
	}
	if pb.Version != 1 {
		return nil, &ConfigError{File: name, Err: fmt.Errorf("playbook version %d is not supported (want version: 1)", pb.Version)}
	}
	return &pb, nil
}

func (pb *Playbook) merge(user *Playbook) {
	if pb.Categories == nil {
		pb.Categories = map[string]*CategoryPlay{}
	}
	for name, uc := range user.Categories {
		if uc == nil {
			continue
		}
		c := pb.Categories[name]
		if c == nil {
			c = &CategoryPlay{}
			pb.Categories[name] = c
		}
		if uc.Description != "" {
			c.Description = uc.Description
		}
		for _, s := range append([]string{""}, Stages...) {
			if p := *uc.stage(s); p != nil {
				*c.stage(s) = p
			}
		}
	}
	if user.LowRisk != nil {
		pb.LowRisk = user.LowRisk
	}
	if pb.Features == nil {
		pb.Features = map[string]string{}
	}
	for k, v := range user.Features {
		pb.Features[k] = v
	}
}

var roleName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate reports entries that cannot be used.
func (pb *Playbook) Validate() error {
	var errs []error
	for _, name := range pb.CategoryNames() {
		c := pb.Categories[name]
		if c == nil || c.Default == nil {
			errs = append(errs, fmt.Errorf("playbook category %q has no default entry", name))
			continue
		}
		for _, s := range append([]string{"default"}, Stages...) {
			p := *c.stage(s)
			if p == nil {
				continue
			}
			if strings.TrimSpace(p.Action) == "" {
				errs = append(errs, fmt.Errorf("playbook %s/%s: action is empty", name, s))
			}
			if !roleName.MatchString(p.OwnerRole) {
				errs = append(errs, fmt.Errorf("playbook %s/%s: owner_role %q must be lower case letters, digits and _", name, s, p.OwnerRole))
			}
		}
	}
	if p := pb.LowRisk; p != nil && (strings.TrimSpace(p.Action) == "" || !roleName.MatchString(p.OwnerRole)) {
		errs = append(errs, fmt.Errorf("playbook low_risk: needs an action and an owner_role of lower case letters, digits and _"))
	}
	for _, g := range slices.Sorted(maps.Keys(pb.Features)) {
		if _, err := path.Match(g, ""); err != nil {
			errs = append(errs, fmt.Errorf("playbook features: %q is not a valid name or glob", g))
		}
		if cat := pb.Features[g]; pb.Categories[cat] == nil {
			errs = append(errs, fmt.Errorf("playbook features: %q maps to unknown category %q (known: %s)", g, cat, strings.Join(pb.CategoryNames(), ", ")))
		}
	}
	return errors.Join(errs...)
}

// CategoryNames returns the categories in name order.
func (pb *Playbook) CategoryNames() []string {
	return slices.Sorted(maps.Keys(pb.Categories))
}

// Play returns the action for a reason category at a lifecycle stage: the
// stage's entry when there is one, else the category's default. An unknown
// category gets the default of "profile"; stage "" means unknown.
func (pb *Playbook) Play(category, stage string) Play {
	c := pb.Categories[category]
	if c == nil {
		c = pb.Categories[CategoryProfile]
	}
	if c == nil || c.Default == nil {
		return Play{}
	}
	if stage != "" {
		if p := *c.stage(stage); p != nil {
			return *p
		}
	}
	return *c.Default
}

// CategoryOf returns the reason category of a feature: the playbook's own
// mapping when a name or glob of it matches (an exact name first, then the
// longest glob), else the built-in mapping by group and name
// (BuiltinCategory).
func (pb *Playbook) CategoryOf(d *features.Def) string {
	if cat, ok := pb.Features[d.Name]; ok {
		return cat
	}
	var globs []string
	for g := range pb.Features {
		if ok, _ := path.Match(g, d.Name); ok {
			globs = append(globs, g)
		}
	}
	if len(globs) > 0 {
		sort.Slice(globs, func(i, j int) bool {
			if len(globs[i]) != len(globs[j]) {
				return len(globs[i]) > len(globs[j])
			}
			return globs[i] < globs[j]
		})
		return pb.Features[globs[0]]
	}
	return BuiltinCategory(d)
}

// Reason categories of the built-in playbook.
const (
	CategoryUsage       = "usage"
	CategorySupport     = "support"
	CategoryStakeholder = "stakeholder"
	CategoryBilling     = "billing"
	CategoryRenewal     = "renewal"
	CategoryIntent      = "intent"
	CategoryNPS         = "nps"
	CategorySilent      = "going_silent"
	CategoryTraining    = "training"
	CategoryPurchases   = "purchases"
	CategoryProfile     = "profile"
)

// BuiltinCategory maps a feature to a reason category by its group and
// name:
//
//	usage group                              → usage
//	payments group                           → billing
//	stakeholder_changes_*                    → stakeholder
//	other contacts features                  → going_silent
//	tickets group                            → support
//	days_since_survey                        → going_silent
//	other nps features                       → nps
//	days_to_renewal, auto_renew, lifecycle_stage → renewal
//	other lifecycle features                 → profile
//	training_views_*                         → training
//	other intent features                    → intent
//	purchases group                          → purchases
//	attributes and anything else             → profile
func BuiltinCategory(d *features.Def) string {
	switch d.Group {
	case "usage":
		return CategoryUsage
	case "payments":
		return CategoryBilling
	case "contacts":
		if strings.HasPrefix(d.Name, "stakeholder_changes_") {
			return CategoryStakeholder
		}
		return CategorySilent
	case "tickets":
		return CategorySupport
	case "nps":
		if d.Name == "days_since_survey" {
			return CategorySilent
		}
		return CategoryNPS
	case "lifecycle":
		switch d.Name {
		case "days_to_renewal", "auto_renew", "lifecycle_stage":
			return CategoryRenewal
		}
		return CategoryProfile
	case "intent":
		if strings.HasPrefix(d.Name, "training_views_") {
			return CategoryTraining
		}
		return CategoryIntent
	case "purchases":
		return CategoryPurchases
	}
	return CategoryProfile
}

// Markdown renders the playbook as Markdown: the plays by category and
// stage, and, for the features of spec, the category each maps to.
// docs/playbook.md embeds it for the built-in playbook and every feature
// (checked by TestPlaybookDoc).
func (pb *Playbook) Markdown(spec *features.Spec) string {
	var b strings.Builder
	b.WriteString("### Plays\n\n| category | what it covers | stage | action | owner_role |\n|---|---|---|---|---|\n")
	for _, name := range pb.CategoryNames() {
		c := pb.Categories[name]
		for _, s := range append([]string{"default"}, Stages...) {
			p := *c.stage(s)
			if p == nil {
				continue
			}
			desc := ""
			if s == "default" {
				desc = c.Description
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, desc, s, p.Action, p.OwnerRole)
		}
	}
	b.WriteString("\n### Feature categories\n\n| feature | group | category |\n|---|---|---|\n")
	for i := range spec.Features {
		d := &spec.Features[i]
		fmt.Fprintf(&b, "| %s | %s | %s |\n", d.Name, d.Group, pb.CategoryOf(d))
	}
	return b.String()
}
