// What the build baked in (tsup.config.ts, packaging/build-binary.mjs); run from the TypeScript
// sources (the unit tests), none of it is defined.
declare const __NEXCAGE_VERSION__: string | undefined;
declare const __NEXCAGE_COMMIT__: string | undefined;
declare const __NEXCAGE_SOURCE_ID__: string | undefined;

export const VERSION = typeof __NEXCAGE_VERSION__ === "string" ? __NEXCAGE_VERSION__ : "0.0.0-dev";
export const COMMIT = typeof __NEXCAGE_COMMIT__ === "string" ? __NEXCAGE_COMMIT__ : "unknown";

/** This build's code (a hash of src/): what state derived from the code is keyed by. */
export const BUILD_ID: string | undefined = typeof __NEXCAGE_SOURCE_ID__ === "string" ? `${VERSION}+${__NEXCAGE_SOURCE_ID__}` : undefined;
