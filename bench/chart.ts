/**
 * The results table as a horizontal bar chart (SVG, no dependencies): throughput relative to
 * bare Express, one bar per row, coloured by what the row is. `node --import tsx bench/chart.ts`
 * redraws `bench/results/chart.svg` from `bench/results/raw.json`.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { BenchResults } from './results.js'
import type { ScenarioGroup } from './scenarios.js'

const COLOURS: Record<ScenarioGroup, string> = {
  ceiling: '#9aa0a6',
  keyward: '#1a73e8',
  reference: '#7e57c2',
  peer: '#f29900',
}
const LEGEND: Record<ScenarioGroup, string> = {
  ceiling: 'bare Express',
  keyward: 'keyward',
  reference: 'hand-written reference',
  peer: 'what people use instead',
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export function renderChart(results: BenchResults): string {
  const rows = results.rows
  const labelWidth = 470
  const barWidth = 380
  const rowHeight = 24
  const top = 62
  const width = labelWidth + barWidth + 90
  const height = top + rows.length * rowHeight + 46
  const x = (ratio: number) => labelWidth + Math.max(0, Math.min(ratio, 1.1)) * (barWidth / 1.1)
  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600">Throughput relative to bare Express 5 (same round, median of ${results.config.rounds})</text>`,
    `<text x="16" y="44" fill="#5f6368">${escapeXml(`${results.machine.nproc} × ${results.machine.cpu}, Node ${results.machine.node}, ${results.config.connections} connections`)}</text>`,
  )
  for (const mark of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${x(mark)}" y1="${top - 6}" x2="${x(mark)}" y2="${top + rows.length * rowHeight}" stroke="${mark === 1 ? '#5f6368' : '#e0e0e0'}" stroke-dasharray="${mark === 1 ? '4 3' : ''}"/>`,
      `<text x="${x(mark)}" y="${top + rows.length * rowHeight + 16}" text-anchor="middle" fill="#5f6368">${mark.toFixed(2)}</text>`,
    )
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight
    const label = row.label.replace(/`/g, '')
    const value = row.id === 'bare' ? 1 : row.ratio
    parts.push(
      `<text x="${labelWidth - 10}" y="${y + 16}" text-anchor="end">${escapeXml(label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${Math.max(1, x(value) - labelWidth).toFixed(1)}" height="${rowHeight - 8}" fill="${COLOURS[row.group]}" rx="2"/>`,
      `<text x="${(x(value) + 6).toFixed(1)}" y="${y + 16}" fill="#202124">${value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)}</text>`,
    )
  })
  let legendX = 16
  const legendY = height - 12
  for (const group of Object.keys(COLOURS) as ScenarioGroup[]) {
    parts.push(
      `<rect x="${legendX}" y="${legendY - 10}" width="12" height="12" fill="${COLOURS[group]}" rx="2"/>`,
      `<text x="${legendX + 18}" y="${legendY}" fill="#5f6368">${escapeXml(LEGEND[group])}</text>`,
    )
    legendX += 30 + LEGEND[group].length * 7
  }
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = fileURLToPath(new URL('results/', import.meta.url))
  const results = JSON.parse(readFileSync(`${dir}raw.json`, 'utf8')) as BenchResults
  writeFileSync(`${dir}chart.svg`, renderChart(results))
}
