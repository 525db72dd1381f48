import { renderMarkdown } from '../markdown';

describe('safe Markdown', () => {
  it('renders the usual subset', () => {
    const html = renderMarkdown('# Week 2\n\nRead **chapter 3** and *try* `print()`.\n\n- one\n- two');
    expect(html).toContain('<h4>Week 2</h4>');
    expect(html).toContain('<strong>chapter 3</strong>');
    expect(html).toContain('<em>try</em>');
    expect(html).toContain('<code>print()</code>');
    expect(html).toContain('<ul><li>one</li><li>two</li></ul>');
  });

  it('never lets markup or scripts through', () => {
    const html = renderMarkdown('<script>alert(1)</script> <img src=x onerror="alert(2)">');
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('&quot;alert(2)&quot;');
  });

  it('keeps only http(s) and mailto links', () => {
    expect(renderMarkdown('[docs](https://example.org/a?b=1&c=2)')).toContain(
      '<a href="https://example.org/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">docs</a>'
    );
    const bad = renderMarkdown('[click](javascript:alert(1)) [x](data:text/html,hi)');
    expect(bad).not.toContain('<a');
    expect(bad).not.toContain('href');
  });

  it('does not format inside code', () => {
    expect(renderMarkdown('`**not bold**`')).toBe('<p><code>**not bold**</code></p>');
    expect(renderMarkdown('```\n<b>x</b>\n```')).toBe('<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>');
  });

  it('leaves underscores inside words alone', () => {
    expect(renderMarkdown('use snake_case_names and window.__x = 1; window.__y')).toBe(
      '<p>use snake_case_names and window.__x = 1; window.__y</p>'
    );
    expect(renderMarkdown('a __bold__ and _soft_ word')).toBe('<p>a <strong>bold</strong> and <em>soft</em> word</p>');
  });
});
