import { useQuery } from '@tanstack/react-query';
import { useId, useRef, useState, type KeyboardEvent } from 'react';
import { queryKeys, searchStocks } from '../api/endpoints';
import type { SearchResult } from '../api/types';
import { useDebouncedValue } from '../hooks';

export interface SymbolSearchProps {
  onSelect: (symbol: string) => void;
  disabled?: boolean;
  placeholder?: string;
  debounceMs?: number;
  /** For tests: replaces the API search. */
  search?: (q: string) => Promise<SearchResult[]>;
  label?: string;
  /** Symbols already on the watchlist: marked in the results. */
  tracked?: ReadonlySet<string>;
}

/** Type-ahead symbol search following the WAI-ARIA combobox (list autocomplete) pattern. */
export function SymbolSearch({
  onSelect,
  disabled = false,
  placeholder = 'Add an S&P 500 stock — symbol or name (press /)',
  debounceMs = 200,
  search,
  label = 'Search stocks to add (S&P 500)',
  tracked,
}: SymbolSearchProps) {
  const id = useId();
  const listId = `${id}-listbox`;
  const inputRef = useRef<HTMLInputElement>(null);
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const q = useDebouncedValue(text.trim(), debounceMs);

  const results = useQuery({
    queryKey: queryKeys.search(q),
    queryFn: ({ signal }) => (search ? search(q) : searchStocks(q, 8, signal)),
    enabled: q.length > 0,
    staleTime: 5 * 60_000,
    meta: { silent: true },
  });
  const options = q.length > 0 ? (results.data ?? []) : [];
  const pending = text.trim() !== q || (q.length > 0 && results.isFetching && !results.data);
  const expanded = open && text.trim().length > 0;

  const choose = (symbol: string) => {
    onSelect(symbol.toUpperCase());
    setText('');
    setOpen(false);
    setActive(-1);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        setOpen(true);
        if (options.length) setActive((a) => (a + 1) % options.length);
        break;
      case 'ArrowUp':
        e.preventDefault();
        setOpen(true);
        if (options.length) setActive((a) => (a <= 0 ? options.length - 1 : a - 1));
        break;
      case 'Enter': {
        e.preventDefault();
        const picked = active >= 0 ? options[active] : undefined;
        if (picked) choose(picked.symbol);
        else if (!pending && options.length === 1 && options[0]) choose(options[0].symbol);
        else if (!pending && text.trim()) {
          const exact = options.find((o) => o.symbol.toUpperCase() === text.trim().toUpperCase());
          choose(exact ? exact.symbol : text.trim());
        }
        break;
      }
      case 'Escape':
        if (expanded) {
          e.preventDefault();
          setOpen(false);
          setActive(-1);
        } else {
          setText('');
        }
        break;
      default:
        break;
    }
  };

  const activeId = expanded && active >= 0 && options[active] ? `${id}-opt-${active}` : undefined;

  return (
    <div className="combobox">
      <label htmlFor={`${id}-input`} className="visually-hidden">
        {label}
      </label>
      <input
        ref={inputRef}
        id={`${id}-input`}
        className="input"
        type="text"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={activeId}
        autoComplete="off"
        spellCheck={false}
        placeholder={placeholder}
        disabled={disabled}
        value={text}
        data-testid="symbol-search"
        data-shortcut="search"
        aria-describedby={`${id}-hint`}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onKeyDown={onKeyDown}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
      />
      <span id={`${id}-hint`} className="visually-hidden">
        The stock universe is the S&amp;P 500. Use the arrow keys to pick a result and Enter to add it.
      </span>
      <ul id={listId} role="listbox" aria-label="Matching stocks" className="listbox" hidden={!expanded}>
        {expanded && pending && options.length === 0 ? <li className="option-empty">Searching…</li> : null}
        {expanded && !pending && options.length === 0 ? (
          <li className="option-empty" data-testid="search-empty">
            {results.isError ? 'Search failed: the server could not be reached.' : `No S&P 500 stock matches “${text.trim()}”`}
          </li>
        ) : null}
        {expanded
          ? options.map((o, i) => (
              <li
                key={o.symbol}
                id={`${id}-opt-${i}`}
                role="option"
                aria-selected={i === active}
                className="option"
                data-testid={`search-option-${o.symbol}`}
                // mousedown, not click: keeps focus in the input (no blur-close race).
                onMouseDown={(e) => {
                  e.preventDefault();
                  choose(o.symbol);
                }}
                onMouseEnter={() => setActive(i)}
              >
                <span className="sym num">{o.symbol}</span>
                <span className="name">{o.name}</span>
                {tracked?.has(o.symbol.toUpperCase()) ? (
                  <span className="badge badge-info small" data-testid="search-tracked">
                    on your list
                  </span>
                ) : o.exchange ? (
                  <span className="muted small">{o.exchange}</span>
                ) : null}
              </li>
            ))
          : null}
      </ul>
    </div>
  );
}
