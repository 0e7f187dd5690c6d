package manifest_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
)

// h100Class is the DeviceClass of k8s-dra.md §4, for the given version.
func h100Class(version string) string {
	return `apiVersion: resource.k8s.io/` + version + `
kind: DeviceClass
metadata:
  name: h100.decentralized-compute.com
spec:
  selectors:
  - cel:
      expression: >-
        device.driver == 'gpu.nvidia.com' &&
        device.attributes['gpu.nvidia.com'].type == 'gpu' &&
        device.attributes['gpu.nvidia.com'].productName.startsWith('NVIDIA H100')
---
`
}

const h100Selector = "device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'gpu' && device.attributes['gpu.nvidia.com'].productName.startsWith('NVIDIA H100')"

// claimV1 wraps a v1 devices block in a ResourceClaimTemplate.
func claimV1(version, devices string) string {
	return `apiVersion: resource.k8s.io/` + version + `
kind: ResourceClaimTemplate
metadata:
  name: t
spec:
  spec:
    devices:
` + devices
}

func TestParseDRA(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  *manifest.DRARequest
		warns []string // warning paths, in order
	}{
		{
			name: "v1 example of k8s-dra.md §4",
			src:  string(readFile(t, "testdata/dra/v1-h100-mps.yaml")),
			want: &manifest.DRARequest{
				APIVersion: "resource.k8s.io/v1", Kind: "ResourceClaimTemplate", Name: "deai-h100-request", Namespace: "prod-ai-cluster",
				Requests: []manifest.DeviceRequest{{
					Name: "high-perf-gpu",
					Alternatives: []manifest.DeviceAlternative{{
						DeviceClassName: "h100.decentralized-compute.com", Count: 1,
						Selectors: []string{h100Selector},
						GPU:       []string{"vendor/nvidia/model/h100"},
					}},
					Sharing: lmarket.SharingMPS,
				}},
				GPU: lmarket.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/h100"}, Sharing: lmarket.SharingMPS},
			},
			warns: []string{""}, // the Pod document is skipped
		},
		{
			name: "v1beta1 example of k8s-dra.md §4, class not in the file",
			src:  string(readFile(t, "testdata/dra/v1beta1-h100-timeslicing.yaml")),
			want: &manifest.DRARequest{
				APIVersion: "resource.k8s.io/v1beta1", Kind: "ResourceClaimTemplate", Name: "deai-h100-request", Namespace: "prod-ai-cluster",
				Requests: []manifest.DeviceRequest{{
					Name: "high-perf-gpu",
					Alternatives: []manifest.DeviceAlternative{{
						DeviceClassName: "h100.decentralized-compute.com", Count: 1,
						GPU: []string{"vendor/nvidia/model/*"},
					}},
					Sharing: lmarket.SharingTimeSlicing,
				}},
				GPU: lmarket.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/*"}, Sharing: lmarket.SharingTimeSlicing},
			},
			warns: []string{"spec.spec.devices.requests[0].deviceClassName"},
		},
		{
			name: "v1beta1 example with its DeviceClass",
			src:  h100Class("v1beta1") + string(readFile(t, "testdata/dra/v1beta1-h100-timeslicing.yaml")),
			want: &manifest.DRARequest{
				APIVersion: "resource.k8s.io/v1beta1", Kind: "ResourceClaimTemplate", Name: "deai-h100-request", Namespace: "prod-ai-cluster",
				Requests: []manifest.DeviceRequest{{
					Name: "high-perf-gpu",
					Alternatives: []manifest.DeviceAlternative{{
						DeviceClassName: "h100.decentralized-compute.com", Count: 1,
						Selectors: []string{h100Selector},
						GPU:       []string{"vendor/nvidia/model/h100"},
					}},
					Sharing: lmarket.SharingTimeSlicing,
				}},
				GPU: lmarket.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/h100"}, Sharing: lmarket.SharingTimeSlicing},
			},
		},
		{
			name: "v1beta2 exactly, stock class, count 4, exclusive",
			src: claimV1("v1beta2", `      requests:
      - name: gpus
        exactly:
          deviceClassName: gpu.nvidia.com
          count: 4
          selectors:
          - cel: {expression: "device.attributes['gpu.nvidia.com'].productName == 'NVIDIA H100 80GB HBM3'"}
`),
			want: &manifest.DRARequest{
				APIVersion: "resource.k8s.io/v1beta2", Kind: "ResourceClaimTemplate", Name: "t",
				Requests: []manifest.DeviceRequest{{
					Name: "gpus",
					Alternatives: []manifest.DeviceAlternative{{
						DeviceClassName: "gpu.nvidia.com", Count: 4,
						Selectors: []string{"device.attributes['gpu.nvidia.com'].productName == 'NVIDIA H100 80GB HBM3'"},
						GPU:       []string{"vendor/nvidia/model/h100/ram/80Gi"},
					}},
				}},
				GPU: lmarket.GPU{Units: 4, Attributes: []string{"vendor/nvidia/model/h100/ram/80Gi"}},
			},
		},
		{
			name: "firstAvailable: H100 class else A100 80GB SXM",
			src: h100Class("v1") + claimV1("v1", `      requests:
      - name: gpu
        firstAvailable:
        - name: h100
          deviceClassName: h100.decentralized-compute.com
          count: 2
        - name: a100
          deviceClassName: gpu.nvidia.com
          count: 2
          selectors:
          - cel:
              expression: device.attributes["gpu.nvidia.com"].productName == "NVIDIA A100-SXM4-80GB"
      config:
      - opaque:
          driver: gpu.nvidia.com
          parameters: {apiVersion: resource.nvidia.com/v1beta1, kind: GpuConfig, sharing: {strategy: TimeSlicing}}
`),
			want: &manifest.DRARequest{
				APIVersion: "resource.k8s.io/v1", Kind: "ResourceClaimTemplate", Name: "t",
				Requests: []manifest.DeviceRequest{{
					Name: "gpu",
					Alternatives: []manifest.DeviceAlternative{
						{Name: "h100", DeviceClassName: "h100.decentralized-compute.com", Count: 2, Selectors: []string{h100Selector}, GPU: []string{"vendor/nvidia/model/h100"}},
						{Name: "a100", DeviceClassName: "gpu.nvidia.com", Count: 2,
							Selectors: []string{`device.attributes["gpu.nvidia.com"].productName == "NVIDIA A100-SXM4-80GB"`},
							GPU:       []string{"vendor/nvidia/model/a100/ram/80Gi/interface/sxm"}},
					},
					Sharing: lmarket.SharingTimeSlicing,
				}},
				GPU: lmarket.GPU{Units: 2, Sharing: lmarket.SharingTimeSlicing, Attributes: []string{
					"vendor/nvidia/model/h100", "vendor/nvidia/model/a100/ram/80Gi/interface/sxm",
				}},
			},
		},
		{
			name: "ResourceClaim, architecture and memory capacity",
			src: `apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata: {name: shared-gpu, namespace: ml}
spec:
  devices:
    requests:
    - name: gpu
      exactly:
        deviceClassName: gpu.nvidia.com
        selectors:
        - cel:
            expression: |
              has(device.attributes['gpu.nvidia.com'].architecture) &&
              (device.attributes['gpu.nvidia.com'].architecture == 'Hopper' &&
               device.capacity['gpu.nvidia.com'].memory.compareTo(quantity('80Gi')) >= 0)
`,
			want: &manifest.DRARequest{
				APIVersion: "resource.k8s.io/v1", Kind: "ResourceClaim", Name: "shared-gpu", Namespace: "ml",
				Requests: []manifest.DeviceRequest{{
					Name: "gpu",
					Alternatives: []manifest.DeviceAlternative{{
						DeviceClassName: "gpu.nvidia.com", Count: 1,
						Selectors: []string{"has(device.attributes['gpu.nvidia.com'].architecture) &&\n(device.attributes['gpu.nvidia.com'].architecture == 'Hopper' &&\n device.capacity['gpu.nvidia.com'].memory.compareTo(quantity('80Gi')) >= 0)\n"},
						GPU: []string{
							"vendor/nvidia/model/h100/ram/80Gi", "vendor/nvidia/model/h200/ram/80Gi",
							"vendor/nvidia/model/h800/ram/80Gi", "vendor/nvidia/model/gh200/ram/80Gi",
						},
					}},
				}},
				GPU: lmarket.GPU{Units: 1, Attributes: []string{
					"vendor/nvidia/model/h100/ram/80Gi", "vendor/nvidia/model/h200/ram/80Gi",
					"vendor/nvidia/model/h800/ram/80Gi", "vendor/nvidia/model/gh200/ram/80Gi",
				}},
			},
		},
		{
			name: "unrecognised selector kept with a warning",
			src: claimV1("v1", `      requests:
      - name: gpu
        exactly:
          deviceClassName: gpu.nvidia.com
          selectors:
          - cel: {expression: "device.attributes['gpu.nvidia.com'].cudaComputeCapability.isGreaterThan(semver('9.0.0'))"}
`),
			want: &manifest.DRARequest{
				APIVersion: "resource.k8s.io/v1", Kind: "ResourceClaimTemplate", Name: "t",
				Requests: []manifest.DeviceRequest{{
					Name: "gpu",
					Alternatives: []manifest.DeviceAlternative{{
						DeviceClassName: "gpu.nvidia.com", Count: 1,
						Selectors: []string{"device.attributes['gpu.nvidia.com'].cudaComputeCapability.isGreaterThan(semver('9.0.0'))"},
						GPU:       []string{"vendor/nvidia/model/*"},
					}},
				}},
				GPU: lmarket.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/*"}},
			},
			warns: []string{"spec.spec.devices.requests[0].exactly", "spec.spec.devices.requests[0].exactly"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := manifest.ParseDRA([]byte(tt.src))
			if err != nil {
				t.Fatalf("ParseDRA: %v", err)
			}
			var paths []string
			for _, w := range got.Warnings {
				paths = append(paths, w.Path)
			}
			if diff := cmp.Diff(tt.warns, paths); diff != "" {
				t.Errorf("warning paths (-want +got):\n%s\n%v", diff, got.Warnings)
			}
			got.Warnings = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			if err := got.GPU.Validate("gpu"); err != nil {
				t.Errorf("GPU does not validate: %v", err)
			}
		})
	}
}

// nested is the k8s-dra.md §5 sample with the indentation fixed (fix 1)
// and the given apiVersion.
func nested(version string) string {
	return `apiVersion: resource.k8s.io/` + version + `
kind: ResourceClaimTemplate
metadata:
  name: deai-h100-request
  namespace: prod-ai-cluster
spec:
  spec:
    devices:
      requests:
      - name: high-perf-gpu
        exactly: 1
        deviceClassName: h100.decentralized-compute.com
        sharingStrategy: MPS
`
}

type wantErr struct {
	path string
	line int
	msg  string // part of the message
}

func TestParseDRAErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"brief sample, verbatim", string(readFile(t, "testdata/dra/brief-sample.yaml")), []wantErr{
			{"spec", 7, `key set twice (lines 6 and 7) at the top level, where name, namespace, devices, requests, exactly, deviceClassName, sharingStrategy also sit: the document is not indented`},
		}},
		{"indented, v1alpha3", nested("v1alpha3"), []wantErr{
			{"apiVersion", 1, "resource.k8s.io/v1alpha3 is a dead end"},
			{"spec.spec.devices.requests[0].exactly", 11, "unknown field in resource.k8s.io/v1alpha3: requests have no exactly; write the count beside deviceClassName (count: 1)"},
			{"spec.spec.devices.requests[0].sharingStrategy", 13, "no such field in any resource.k8s.io version (got MPS): GPU sharing is driver configuration; put it in spec.spec.devices.config"},
		}},
		{"indented, v1", nested("v1"), []wantErr{
			{"spec.spec.devices.requests[0].exactly", 11, "got 1: exactly is not a count but an object (ExactDeviceRequest) holding deviceClassName and count: exactly: {deviceClassName: <class>, count: 1}"},
			{"spec.spec.devices.requests[0].deviceClassName", 12, "in v1 a request's deviceClassName goes inside exactly"},
			{"spec.spec.devices.requests[0].sharingStrategy", 13, "kind: GpuConfig, sharing: {strategy: MPS}"},
		}},
		{"indented, v1beta1", nested("v1beta1"), []wantErr{
			{"spec.spec.devices.requests[0].exactly", 11, "unknown field in resource.k8s.io/v1beta1: requests have no exactly"},
			{"spec.spec.devices.requests[0].sharingStrategy", 13, "no such field"},
		}},
		{"fixes 1, 2 and 4: v1alpha3 decodes but is a dead end",
			strings.Replace(strings.Replace(nested("v1alpha3"), "        exactly: 1\n", "        count: 1\n", 1), "        sharingStrategy: MPS\n", "", 1), []wantErr{
				{"apiVersion", 1, "from 1.34 v1alpha3 has no ResourceClaimTemplate at all; use apiVersion resource.k8s.io/v1"},
			}},
		{"v1alpha2", strings.Replace(nested("v1beta1"), "v1beta1", "v1alpha2", 1), []wantErr{{"apiVersion", 1, "classic DRA, removed"}}},
		{"unknown version", strings.Replace(nested("v1beta1"), "v1beta1", "v2", 1), []wantErr{{"apiVersion", 1, `"resource.k8s.io/v2": want resource.k8s.io/v1`}}},
		{"wrong group", strings.Replace(nested("v1beta1"), "resource.k8s.io/v1beta1", "v1", 1), []wantErr{{"apiVersion", 1, `"v1": a ResourceClaimTemplate is in group resource.k8s.io`}}},
		{"unknown field", claimV1("v1", "      requestz: []\n"), []wantErr{{"spec.spec.devices.requestz", 8, "unknown field in resource.k8s.io/v1 ResourceClaimTemplate"}}},
		{"type mismatch", claimV1("v1", "      requests:\n      - name: g\n        exactly: {deviceClassName: gpu.nvidia.com, count: two}\n"),
			[]wantErr{{"spec.spec.devices.requests.exactly.count", 8, "got a string: want a whole number"}}},
		{"no requests", claimV1("v1", "      requests: []\n"), []wantErr{{"spec.spec.devices.requests", 8, "want one request"}}},
		{"two requests", claimV1("v1", "      requests:\n      - {name: a, exactly: {deviceClassName: gpu.nvidia.com}}\n      - {name: b, exactly: {deviceClassName: gpu.nvidia.com}}\n"),
			[]wantErr{{"spec.spec.devices.requests", 8, "2 requests: a deai order has one GPU requirement per replica"}}},
		{"all devices", claimV1("v1", "      requests:\n      - {name: a, exactly: {deviceClassName: gpu.nvidia.com, allocationMode: All}}\n"),
			[]wantErr{{"spec.spec.devices.requests[0].exactly.allocationMode", 9, "All takes every matching device of a node"}}},
		{"too many", claimV1("v1", "      requests:\n      - {name: a, exactly: {deviceClassName: gpu.nvidia.com, count: 25}}\n"),
			[]wantErr{{"spec.spec.devices.requests[0].exactly.count", 9, "25: want 1 to 24 GPUs"}}},
		{"alternatives differ in count", claimV1("v1", "      requests:\n      - name: a\n        firstAvailable:\n        - {name: x1, deviceClassName: gpu.nvidia.com, count: 2}\n        - {name: x2, deviceClassName: gpu.nvidia.com}\n"),
			[]wantErr{{"spec.spec.devices.requests[0].firstAvailable[1].count", 12, "1, but spec.spec.devices.requests[0].firstAvailable[0] asks for 2"}}},
		{"no device", claimV1("v1", "      requests:\n      - name: a\n"), []wantErr{{"spec.spec.devices.requests[0]", 9, "names no device"}}},
		{"config names another request", claimV1("v1", `      requests:
      - {name: gpu, exactly: {deviceClassName: gpu.nvidia.com}}
      config:
      - requests: [other]
        opaque: {driver: gpu.nvidia.com, parameters: {apiVersion: resource.nvidia.com/v1beta1, kind: GpuConfig}}
`), []wantErr{{"spec.spec.devices.config[0].requests", 11, `"other": no request of that name (the request is "gpu")`}}},
		{"time slicing with mps config", claimV1("v1", `      requests:
      - {name: gpu, exactly: {deviceClassName: gpu.nvidia.com}}
      config:
      - opaque:
          driver: gpu.nvidia.com
          parameters: {apiVersion: resource.nvidia.com/v1beta1, kind: GpuConfig, sharing: {strategy: TimeSlicing, mpsConfig: {defaultActiveThreadPercentage: 50}}}
`), []wantErr{{"spec.spec.devices.config[0].opaque.parameters.sharing.mpsConfig", 11, "set with strategy TimeSlicing"}}},
		{"GpuConfig typo", claimV1("v1", `      requests:
      - {name: gpu, exactly: {deviceClassName: gpu.nvidia.com}}
      config:
      - opaque:
          driver: gpu.nvidia.com
          parameters: {apiVersion: resource.nvidia.com/v1beta1, kind: GpuConfig, sharing: {stratgy: MPS}}
`), []wantErr{{"spec.spec.devices.config[0].opaque.parameters", 11, `not a valid NVIDIA GpuConfig: unknown field "stratgy"`}}},
		{"unknown strategy", claimV1("v1", `      requests:
      - {name: gpu, exactly: {deviceClassName: gpu.nvidia.com}}
      config:
      - opaque:
          driver: gpu.nvidia.com
          parameters: {apiVersion: resource.nvidia.com/v1beta1, kind: GpuConfig, sharing: {strategy: Exclusive}}
`), []wantErr{{"spec.spec.devices.config[0].opaque.parameters.sharing.strategy", 11, `"Exclusive": want TimeSlicing or MPS`}}},
		{"mps percentage", claimV1("v1", `      requests:
      - {name: gpu, exactly: {deviceClassName: gpu.nvidia.com}}
      config:
      - opaque:
          driver: gpu.nvidia.com
          parameters: {apiVersion: resource.nvidia.com/v1beta1, kind: GpuConfig, sharing: {strategy: MPS, mpsConfig: {defaultActiveThreadPercentage: 150}}}
`), []wantErr{{"spec.spec.devices.config[0].opaque.parameters.sharing.mpsConfig.defaultActiveThreadPercentage", 11, "150: want a percentage from 1 to 100"}}},
		{"only a pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", []wantErr{{"", 0, "no ResourceClaimTemplate or ResourceClaim in the file"}}},
		{"two templates", claimV1("v1", "      requests: []\n") + "---\n" + claimV1("v1", "      requests: []\n"),
			[]wantErr{{"", 10, "a second ResourceClaimTemplate: a file describes one claim (the first starts at line 1)"}}},
		{"class defined twice", h100Class("v1") + h100Class("v1") + string(readFile(t, "testdata/dra/v1beta1-h100-timeslicing.yaml")),
			[]wantErr{{"metadata.name", 15, `DeviceClass "h100.decentralized-compute.com" is defined twice (first at line 1)`}}},
		{"nested duplicate key", claimV1("v1", "      requests: []\n      requests: []\n"), []wantErr{{"spec.spec.devices.requests", 9, "key set twice (lines 8 and 9)"}}},
		{"yaml syntax", "apiVersion: resource.k8s.io/v1\nkind: ResourceClaimTemplate\nspec: [\n", []wantErr{{"", 3, "not valid YAML"}}},
		{"not an object", "- a\n", []wantErr{{"", 1, "got a list: want a Kubernetes object"}}},
		{"empty", "", []wantErr{{"", 0, "no ResourceClaimTemplate"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := manifest.ParseDRA([]byte(tt.src))
			if err == nil {
				t.Fatalf("ParseDRA succeeded: %+v", got)
			}
			fes := manifest.FieldErrors(err)
			if len(fes) != len(tt.want) {
				t.Errorf("%d errors, want %d:\n%v", len(fes), len(tt.want), err)
			}
			for i, w := range tt.want {
				if i >= len(fes) {
					break
				}
				if fes[i].Path != w.path || fes[i].Line != w.line || !strings.Contains(fes[i].Msg, w.msg) {
					t.Errorf("error %d = line %d: %v\nwant line %d: %s: …%s…", i, fes[i].Line, fes[i], w.line, w.path, w.msg)
				}
			}
		})
	}
}

func TestSplitCELAndProductNames(t *testing.T) {
	// Exercised through ParseDRA: one selector per case on the stock class.
	tests := []struct {
		expr string
		gpu  []string
		warn bool // an unrecognised conjunct
	}{
		{"device.attributes['gpu.nvidia.com'].productName.contains('H100')", []string{"vendor/nvidia/model/h100"}, false},
		{"device.attributes['gpu.nvidia.com'].productName == 'NVIDIA GeForce RTX 4090'", []string{"vendor/nvidia/model/rtx4090"}, false},
		{"device.attributes['gpu.nvidia.com'].productName == 'NVIDIA RTX A6000'", []string{"vendor/nvidia/model/rtxa6000"}, false},
		{"device.attributes['gpu.nvidia.com'].productName == 'NVIDIA H100 PCIe'", []string{"vendor/nvidia/model/h100/interface/pcie"}, false},
		{"device.attributes['gpu.nvidia.com'].productName == 'Tesla T4'", []string{"vendor/nvidia/model/t4"}, false},
		{"device.attributes['gpu.nvidia.com'].architecture == 'Volta'", []string{"vendor/nvidia/model/v100"}, false},
		{"device.attributes['gpu.nvidia.com'].architecture == 'Kepler'", []string{"vendor/nvidia/model/*"}, true},
		{"device.capacity['gpu.nvidia.com'].memory.compareTo(quantity('40Gi')) >= 0", []string{"vendor/nvidia/model/*/ram/40Gi"}, false},
		{"device.capacity['gpu.nvidia.com'].memory.compareTo(quantity('40Gi')) < 0", []string{"vendor/nvidia/model/*"}, true},
		{"device.driver == 'gpu.amd.com' && device.attributes['gpu.amd.com'].productName == 'AMD Instinct MI300X'", []string{"vendor/amd/model/mi300x"}, false},
		{"(device.attributes['gpu.nvidia.com'].productName == 'NVIDIA A100-SXM4-40GB')", []string{"vendor/nvidia/model/a100/ram/40Gi/interface/sxm"}, false},
		{"device.attributes['gpu.nvidia.com'].productName == 'NVIDIA H100' || device.attributes['gpu.nvidia.com'].productName == 'NVIDIA A100'", []string{"vendor/nvidia/model/*"}, true},
		{"device.attributes['gpu.nvidia.com'].productName.startsWith('NVIDIA L40S') && device.attributes['gpu.nvidia.com'].index == 0", []string{"vendor/nvidia/model/l40s"}, true},
		{`device.attributes["gpu.nvidia.com"].productName.startsWith("NVIDIA B200") && device.attributes["gpu.nvidia.com"].driverVersion == "a && (b"`, []string{"vendor/nvidia/model/b200"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			src := claimV1("v1", "      requests:\n      - name: g\n        exactly:\n          deviceClassName: gpu.nvidia.com\n          selectors:\n          - cel:\n              expression: '"+strings.ReplaceAll(tt.expr, "'", "''")+"'\n")
			got, err := manifest.ParseDRA([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.gpu, got.GPU.Attributes); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
			if w := len(got.Warnings) > 0; w != tt.warn {
				t.Errorf("warnings = %v, want some: %v", got.Warnings, tt.warn)
			}
			// An unrecognised conjunct is quoted whole, strings included.
			if strings.Contains(tt.expr, "driverVersion") && !strings.Contains(got.Warnings[0].Msg, `driverVersion == \"a && (b\"`) {
				t.Errorf("warning does not quote the whole conjunct: %v", got.Warnings[0])
			}
		})
	}
}
