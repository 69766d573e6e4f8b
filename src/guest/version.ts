/** Product version, shared by the guest banner, `/proc/boot` and `cohesix --version`. */
export const COHESIX_VERSION = "0.1.0";
