// Package manifest reads what a tenant asks the compute market for and
// holds it in two forms: the on-chain order (per placement group:
// resources per replica, replica count, placement requirements and max
// price, as ledger/market GroupSpecs) and the off-chain workload Manifest
// (images, commands, env, ports, mounts) that goes only to the winning
// provider, bound to the deployment by Manifest.Hash. It parses files and
// checks them; it does not talk to the chain or a cluster, and must not
// depend on anything above the ledger types.
//
// Two input formats:
//
//   - Akash SDL v2.0/v2.1 (ParseSDL), with the grammar and checks of the
//     market spec §8–9. Unknown keys are warnings, not errors, as upstream
//     ignores them.
//   - Kubernetes DRA ResourceClaimTemplates (ParseDRA), resource.k8s.io v1,
//     v1beta2 or v1beta1, decoded strictly with the k8s.io/api types and
//     mapped to one GPU requirement.
//
// Detect tells them apart. Errors are *FieldError values joined with
// errors.Join (FieldErrors splits them): each names the field path, the
// line, what is wrong and what is expected.
//
// # Prices
//
// deai settles in whole udeai. An SDL price is the most a tenant pays per
// block per replica; its denom must be udeai, or uact or uakt, which are
// read 1:1 as udeai (with a warning) so that Akash SDLs work unchanged.
// Fractional amounts are errors, and all prices of a deployment must use
// one denom.
//
// # deai extensions to SDL
//
//   - profiles.placement.<name>.billing: usage | per-block. usage sets
//     GroupSpec.Billing to BillingUsage: the lease pays reported usage,
//     capped by the bid price per block. The default is per-block.
//   - profiles.compute.<name>.resources.gpu.sharing: time-slicing | mps
//     (or exclusive, the default) sets GPU.Sharing: the replica may share
//     its GPUs with other workloads in that mode.
//   - services.<name>.params.tee: cpu | cpu-gpu adds the requirement
//     attribute capabilities/tee/<value> = true to the service's groups and
//     Params.TEE to its manifest.
//
// # Derived data
//
// Groups are one per placement with services, in placement-name order;
// units are one per service deployed there, in service-name order, IDs
// from 1. Global ports become endpoints: a TCP port exposed as 80 is
// EndpointSharedHTTP (the provider's ingress), any other global port
// EndpointRandomPort, a port on a leased IP EndpointLeasedIP with the
// endpoint's number (endpoints are numbered 1.. in name order).
package manifest
