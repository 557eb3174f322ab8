import { MAX_STREAM_SYMBOLS, StockStream, type Quote } from '@realtime-service/client';
import { api } from './api';
import { $, el, input, onSubmit } from './dom';

interface Alert {
  id: string;
  symbol: string;
  direction: string;
  price: number;
  active: boolean;
}

/** Live ticker over SSE (no login needed) and the price-alert form. */
export class StocksPanel {
  private stream: StockStream | null = null;

  async start(): Promise<void> {
    const { items } = await api<{ items: Quote[] }>('/api/stocks');
    const symbols = items.map((q) => q.symbol).slice(0, MAX_STREAM_SYMBOLS);
    items.forEach((q) => this.render(q));
    if (symbols.length > 0) {
      this.stream = new StockStream(location.origin, symbols);
      this.stream.on('quote', (q) => this.render(q));
      this.stream.start();
    }
    onSubmit('alert-form', async () => {
      await api('/api/alerts', {
        body: {
          symbol: input('alert-symbol').value.trim().toUpperCase(),
          direction: (input('alert-direction') as unknown as HTMLSelectElement).value,
          price: Number(input('alert-price').value),
        },
      });
      await this.loadAlerts();
    });
    await this.loadAlerts();
  }

  stop(): void {
    this.stream?.close();
  }

  private async loadAlerts(): Promise<void> {
    const { items } = await api<{ items: Alert[] }>('/api/alerts');
    $('alerts').replaceChildren(
      ...items.map((a) =>
        el('li', `${a.symbol} ${a.direction} ${a.price} ${a.active ? '(active)' : '(fired)'}`),
      ),
    );
  }

  private render(q: Quote): void {
    const body = $('ticker').querySelector('tbody');
    if (body === null) return;
    let row = body.querySelector<HTMLTableRowElement>(`tr[data-symbol="${CSS.escape(q.symbol)}"]`);
    if (row === null) {
      row = document.createElement('tr');
      row.dataset.symbol = q.symbol;
      row.append(el('td'), el('td'), el('td'), el('td'));
      body.append(row);
    }
    const [symbol, price, change, time] = Array.from(row.cells);
    symbol.textContent = q.symbol;
    price.textContent = q.price.toFixed(2);
    change.textContent = `${q.change >= 0 ? '+' : ''}${q.change.toFixed(2)} (${q.changePct.toFixed(2)}%)`;
    change.className = q.change >= 0 ? 'up' : 'down';
    time.textContent = new Date(q.ts).toLocaleTimeString();
  }
}
