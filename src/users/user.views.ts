export interface UserView {
  id: string;
  username: string;
  displayName: string;
  goalWeightKg: number | null;
  createdAt: string;
  /** The outside issuer's `sub` this user stands for; null for users who registered here. */
  externalId: string | null;
}

export interface UserRow {
  id: string;
  username: string;
  display_name: string;
  /** NUMERIC comes back as a string (to keep precision); kilograms fit a double. */
  goal_weight_kg: string | null;
  created_at: Date;
  external_id: string | null;
}

export function toUserView(row: UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    goalWeightKg: row.goal_weight_kg === null ? null : Number(row.goal_weight_kg),
    createdAt: row.created_at.toISOString(),
    externalId: row.external_id,
  };
}

export interface WeightView {
  id: string;
  weightKg: number;
  measuredAt: string;
}

export interface WeightRow {
  id: string;
  weight_kg: string;
  measured_at: Date;
}

export function toWeightView(row: WeightRow): WeightView {
  return {
    id: row.id,
    weightKg: Number(row.weight_kg),
    measuredAt: row.measured_at.toISOString(),
  };
}
