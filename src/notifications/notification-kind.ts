/** What a notification kind may be: publishers name kinds, and preferences refer to them. */
export const NOTIFICATION_KIND = /^[a-z0-9_.-]{1,64}$/;

export const NOTIFICATION_KIND_RULE = '1-64 characters of a-z, 0-9, _ . -';
