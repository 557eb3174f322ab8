/**
 * A tiny SVG line chart: the last points of one series, scaled to the box. No library: a
 * polyline and two labels are all a lane needs, and it stays readable at phone width.
 */
export class Sparkline {
  readonly element: SVGSVGElement;
  private readonly line: SVGPolylineElement;
  private readonly label: SVGTextElement;
  private readonly points: number[] = [];

  constructor(
    title: string,
    private readonly max = 120,
    private readonly width = 300,
    private readonly height = 60,
  ) {
    const ns = 'http://www.w3.org/2000/svg';
    this.element = document.createElementNS(ns, 'svg');
    this.element.setAttribute('viewBox', `0 0 ${width} ${height}`);
    this.element.setAttribute('role', 'img');
    this.element.setAttribute('aria-label', title);
    this.element.classList.add('sparkline');
    const titleEl = document.createElementNS(ns, 'title');
    titleEl.textContent = title;
    this.line = document.createElementNS(ns, 'polyline');
    this.label = document.createElementNS(ns, 'text');
    this.label.setAttribute('x', '4');
    this.label.setAttribute('y', '12');
    this.element.append(titleEl, this.line, this.label);
  }

  get size(): number {
    return this.points.length;
  }

  push(value: number): void {
    this.points.push(value);
    if (this.points.length > this.max) this.points.shift();
    const top = Math.max(1, ...this.points);
    const step = this.points.length > 1 ? this.width / (this.points.length - 1) : 0;
    this.line.setAttribute(
      'points',
      this.points
        .map(
          (v, i) =>
            `${(i * step).toFixed(1)},${(this.height - 2 - (v / top) * (this.height - 16)).toFixed(1)}`,
        )
        .join(' '),
    );
    this.label.textContent = `max ${Math.round(top)} ms`;
  }
}
