export type AlertDirection = 'above' | 'below';

export interface AlertView {
  id: string;
  symbol: string;
  direction: AlertDirection;
  price: number;
  active: boolean;
  triggeredAt: string | null;
}

export interface AlertRow {
  id: string;
  user_id: string;
  symbol: string;
  direction: AlertDirection;
  price: string;
  active: boolean;
  triggered_at: Date | null;
}

export function toAlertView(row: AlertRow): AlertView {
  return {
    id: row.id,
    symbol: row.symbol,
    direction: row.direction,
    price: Number(row.price),
    active: row.active,
    triggeredAt: row.triggered_at === null ? null : row.triggered_at.toISOString(),
  };
}
