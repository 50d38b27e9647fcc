/** The annotations containerd's CRI puts in every spec of a pod (its sandbox's and its containers'). */
export const CRI_CONTAINER_TYPE = "io.kubernetes.cri.container-type";
export const CRI_SANDBOX_ID = "io.kubernetes.cri.sandbox-id";
export const CRI_SANDBOX_NAME = "io.kubernetes.cri.sandbox-name";
export const CRI_SANDBOX_NAMESPACE = "io.kubernetes.cri.sandbox-namespace";
