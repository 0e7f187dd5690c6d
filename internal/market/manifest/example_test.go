package manifest_test

import (
	"encoding/hex"
	"fmt"

	"github.com/deai-network/deai/internal/market/manifest"
)

const exampleSDL = `version: "2.0"
services:
  web:
    image: nginx:1.27
    expose:
      - port: 80
        to: [{global: true}]
profiles:
  compute:
    web:
      resources:
        cpu: {units: 0.5}
        memory: {size: 512Mi}
        storage: {size: 1Gi}
  placement:
    dc:
      pricing:
        web: {denom: udeai, amount: 1000}
deployment:
  web:
    dc: {profile: web, count: 2}
`

func ExampleParseSDL() {
	s, err := manifest.ParseSDL([]byte(exampleSDL))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range s.Groups() {
		for _, u := range g.Units {
			r := u.Resources
			fmt.Printf("group %s, unit %d: %s CPU, %s memory, %d endpoint(s), %d replicas at most %d udeai per block each\n",
				g.Name, u.ID, manifest.FormatCPU(r.CPUMilli), manifest.FormatSize(r.MemoryBytes), len(r.Endpoints), u.Count, u.Price)
		}
	}
	// Output:
	// group dc, unit 1: 0.5 CPU, 512Mi memory, 1 endpoint(s), 2 replicas at most 1000 udeai per block each
}

func ExampleParseSDL_errors() {
	bad := []byte(`version: "2.0"
services:
  web: {image: nginx}
profiles:
  compute:
    web:
      resources: {cpu: {units: 1}, memory: {size: 12Q}, storage: {size: 1Gi}}
  placement:
    dc:
      pricing:
        web: {denom: udeai, amount: 0.5}
deployment:
  web:
    dc: {profile: web, count: 1}
`)
	_, err := manifest.ParseSDL(bad)
	for _, fe := range manifest.FieldErrors(err) {
		fmt.Printf("line %d: %v\n", fe.Line, fe)
	}
	// Output:
	// line 7: profiles.compute.web.resources.memory.size: "12Q": want a quantity like 512Mi or 4Gi (unit "Q": use Ki, Mi, Gi, Ti or k, M, G, T)
	// line 11: profiles.placement.dc.pricing.web.amount: "0.5": fractional amount: prices are whole udeai per block per replica
}

func ExampleManifest_Hash() {
	s, err := manifest.ParseSDL([]byte(exampleSDL))
	if err != nil {
		fmt.Println(err)
		return
	}
	h := s.Manifest().Hash()
	fmt.Println(len(hex.EncodeToString(h[:])), "hex digits, the deployment's on-chain hash")
	// Output:
	// 64 hex digits, the deployment's on-chain hash
}

func ExampleParseDRA() {
	r, err := manifest.ParseDRA([]byte(`apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: llm-gpu}
spec:
  spec:
    devices:
      requests:
      - name: gpu
        exactly:
          deviceClassName: gpu.nvidia.com
          count: 2
          selectors:
          - cel:
              expression: device.attributes['gpu.nvidia.com'].productName.startsWith('NVIDIA H100')
      config:
      - opaque:
          driver: gpu.nvidia.com
          parameters: {apiVersion: resource.nvidia.com/v1beta1, kind: GpuConfig, sharing: {strategy: MPS}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.GPU.Units, r.GPU.Attributes, r.GPU.Sharing)
	// Output:
	// 2 [vendor/nvidia/model/h100] mps
}

func ExampleDetect() {
	fmt.Println(manifest.Detect([]byte("version: \"2.0\"\nservices: {}\n")))
	fmt.Println(manifest.Detect([]byte("apiVersion: resource.k8s.io/v1\nkind: ResourceClaimTemplate\n")))
	// Output:
	// sdl
	// dra
}
