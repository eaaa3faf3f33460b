/** Bundles wait-for into `outdir` (default dist/bundle); resolves with the entry's path. */
export declare const bundle: (outdir?: string) => Promise<string>
