/** Port: the driver's clock (server/node/interval-ticker.ts in production). */

/** Source of logical clock ticks (a setInterval in production, the event queue in simulation). */
export interface Ticker {
  start(onTick: () => void): void;
  stop(): void;
}
