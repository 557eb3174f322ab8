/** Published when a login ends; every instance closes that login's sockets and streams. */
export interface SessionEndedEvent {
  userId: string;
  sessionId: string;
}

declare module '../bus/bus' {
  interface BusTopics {
    'auth.session-ended': SessionEndedEvent;
  }
}
