// Package manifest holds what a tenant asks for, in two forms: the
// on-chain order (per placement group: resources, count, placement, max
// price; types from ledger/market) and the off-chain workload manifest
// (images, commands, env, ports) that goes only to the winning provider,
// bound to the chain by its hash. Parsers: Akash SDL v2.0/2.1 (sdl.go)
// and Kubernetes DRA ResourceClaimTemplates (dra.go).
package manifest

import (
	lmarket "github.com/deai-network/deai/internal/ledger/market"
)

// Manifest is the workload of a deployment, one entry per placement
// group, in the order of the on-chain groups.
type Manifest struct {
	Groups []Group `json:"groups"`
}

// Group is the workload of one placement group.
type Group struct {
	Name     string    `json:"name"`
	Services []Service `json:"services"`
}

// Service is one container image run Count times with Resources each.
type Service struct {
	Name      string            `json:"name"` // DNS label
	Image     string            `json:"image"`
	Command   []string          `json:"command,omitempty"`
	Args      []string          `json:"args,omitempty"`
	Env       []string          `json:"env,omitempty"` // KEY=value
	Resources lmarket.Resources `json:"resources"`
	Count     uint32            `json:"count"`
	Expose    []Expose          `json:"expose,omitempty"`
	Params    *Params           `json:"params,omitempty"`
}

// Expose is one exposed port of a service.
type Expose struct {
	Port         uint16   `json:"port"`               // container port
	ExternalPort uint16   `json:"external_port"`      // "as"; = Port when unset
	Proto        string   `json:"proto"`              // TCP or UDP
	Global       bool     `json:"global"`             // reachable from outside the lease
	Services     []string `json:"services,omitempty"` // reachable from these services of the deployment
	Hosts        []string `json:"hosts,omitempty"`    // accept: hostnames
	IP           string   `json:"ip,omitempty"`       // leased-IP endpoint name
}

// Params are per-service runtime parameters.
type Params struct {
	Storage []StorageParams `json:"storage,omitempty"`
}

// StorageParams mounts a volume of the service's resources.
type StorageParams struct {
	Name     string `json:"name"`
	Mount    string `json:"mount"`
	ReadOnly bool   `json:"read_only,omitempty"`
}
