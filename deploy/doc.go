// Package deploy holds no code: its tests check the Kubernetes manifests in
// k8s/ offline — kustomize renders them, every object decodes strictly into
// the Kubernetes API types, and every HERALD_* variable is a real config key
// the service accepts.
package deploy
