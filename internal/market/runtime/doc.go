// Package runtime runs the workloads of leases on a compute provider: the
// Runtime interface and three implementations, Docker (one container per
// service replica on a per-lease bridge network), Exec (local processes for
// machines without Docker) and Kube (a namespace per lease with Deployments,
// Services, NetworkPolicies and DRA ResourceClaimTemplates for GPUs).
//
// A provider restart is the construction of a new Runtime: workloads are
// never torn down by it. List finds the leases whose workloads are present so
// the provider can reconcile them with the chain, Status reports them, and
// only Close removes them.
//
// Conventions shared by the implementations:
//
//   - Resource names derive from LeaseRef.Name, a short hash of the lease ID.
//   - Every workload gets the environment of LeaseEnv (DEAI_LEASE_ID,
//     DEAI_OWNER, DEAI_DEPLOYMENT_SEQUENCE, DEAI_GROUP_SEQUENCE,
//     DEAI_ORDER_SEQUENCE, DEAI_PROVIDER, DEAI_SERVICE and, when configured,
//     DEAI_CLUSTER_PUBLIC_HOSTNAME) after the manifest's env; tenants cannot
//     override DEAI_* variables.
//   - Docker objects carry the labels deai.instance, deai.lease (the full ID),
//     deai.lease.name, deai.service and deai.replica; Kubernetes objects the
//     labels deai.network=true, deai.network/lease, deai.network/service and
//     deai.network/lease.{owner,dseq,gseq,oseq,provider}.
//   - Services reach each other by service name on the container port
//     (Docker network alias, Kubernetes ClusterIP Service); global ports are
//     published on a host port reported in Status (Docker: random port on
//     PublishIP, exec: free port, Kubernetes: NodePort).
//   - The exec runtime's image is "exec" (run command+args as given) or an
//     absolute path to a binary; binaries must be on its allow list. It
//     passes PORT, DEAI_PORT_<port> and DEAI_VOLUME_<NAME>.
//   - Logs lines are prefixed "[<service>-<replica>] " ("[<pod>] " on
//     Kubernetes).
//
// Usage is metered for usage-billed leases: CPU time and GPU allocation are
// cumulative counters, memory is sampled and integrated (call Run so samples
// are taken regularly). See each implementation for what is enforced and
// what is only metered.
//
// runtimetest holds the test helpers (echo server binary and image, Docker
// client, Memory, an in-memory twin of Runtime for the provider's tests).
//
// This package depends on the manifest and ledger market types, the Docker
// Engine client and client-go; it must not depend on other services.
package runtime
