// How a status is shown: colour AND icon AND word, never colour alone.
// The words come from the catalogue in the language shown now.
import type { Status } from './ipc/types';
import { tr } from './i18n/locale.svelte';
import { common } from './i18n/catalogue/common';

export { when, day } from './i18n/format';

export const STATUS_ORDER: Status[] = ['expired', 'error', 'expiring', 'rotation_due', 'disabled', 'revoked', 'active'];

/** Each status's word and hint. */
export function statusInfo() {
  return tr(common).status;
}

/** Each credential type's label, in the order the forms offer them. */
export function kindLabel() {
  return tr(common).kind;
}

/** Where an expiry date came from, as the details page says it. */
export function expirySource() {
  return tr(common).expirySource;
}

/** A live check's result code as a row says it. */
export function checkResult() {
  return tr(common).checkResult;
}
