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

	// Credentials log in to a private image registry.
	Credentials *Credentials `json:"credentials,omitempty"`
}

// Credentials are a private image registry login (SDL credentials).
type Credentials struct {
	Host     string `json:"host"`
	Email    string `json:"email,omitempty"`
	Username string `json:"username"`
	Password string `json:"password"`
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

	// HTTPOptions tune the provider's ingress; set for global HTTP ports
	// (exposed as 80) only, with defaults filled in.
	HTTPOptions *HTTPOptions `json:"http_options,omitempty"`
}

// HTTPOptions are the ingress settings of an HTTP port (SDL http_options).
type HTTPOptions struct {
	MaxBodySize     uint32   `json:"max_body_size"`               // bytes
	ReadTimeout     uint32   `json:"read_timeout"`                // milliseconds
	SendTimeout     uint32   `json:"send_timeout"`                // milliseconds
	NextTries       uint32   `json:"next_tries"`                  // upstream attempts
	NextTimeout     uint32   `json:"next_timeout"`                // milliseconds; 0 = no limit
	NextCases       []string `json:"next_cases"`                  // when to try the next upstream; ["off"] = never
	ProxyBufferSize uint32   `json:"proxy_buffer_size,omitempty"` // bytes; 0 = provider default
}

// Params are per-service runtime parameters.
type Params struct {
	Storage     []StorageParams `json:"storage,omitempty"`     // sorted by name
	Permissions []string        `json:"permissions,omitempty"` // read access: deployment, logs, events (sorted)
	TEE         string          `json:"tee,omitempty"`         // "cpu" or "cpu-gpu"
}

// StorageParams mounts a volume of the service's resources.
type StorageParams struct {
	Name     string `json:"name"`
	Mount    string `json:"mount"`
	ReadOnly bool   `json:"read_only,omitempty"`
}
