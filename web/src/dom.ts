/** DOM helpers. User text only ever goes in through textContent: never parsed as HTML. */
export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} missing`);
  return el;
}

export const input = (id: string): HTMLInputElement => $(id) as HTMLInputElement;

export function el(tag: string, text?: string, className?: string): HTMLElement {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

export function onSubmit(id: string, handler: () => Promise<void> | void): void {
  $(id).addEventListener('submit', (event) => {
    event.preventDefault();
    inBackground(Promise.resolve(handler()));
  });
}

/** Starts UI work nobody awaits (a click, a reconnect); a failure is logged, never left unhandled. */
export function inBackground(task: Promise<unknown>): void {
  task.catch((err: unknown) => console.error(err));
}
