/** Runs a scenario's main and exits: 0 when it finished, 1 (with the error) when it failed. */
export function runScenario(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
