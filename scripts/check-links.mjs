#!/usr/bin/env node
// Checks the links of the Markdown files a reader meets: every relative link and every link to
// this repository on GitHub must name a file (and heading) that exists, and pages shipped in the
// npm package may link relatively only to other shipped files, since npm renders the README
// without the rest of the repository. Exit status 1 lists every broken link.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const REPOSITORY = 'https://github.com/keyward/keyward/blob/main/'

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const shipped = (path) =>
  ['package.json', ...(pkg.files ?? [])].some((entry) => path === entry || path.startsWith(`${entry}/`))

const markdownIn = (dir) =>
  existsSync(join(root, dir))
    ? readdirSync(join(root, dir), { recursive: true })
        .map((name) => join(dir, String(name)))
        .filter((path) => path.endsWith('.md') && !path.includes('node_modules'))
    : []
const pages = ['README.md', 'CHANGELOG.md', ...markdownIn('docs'), ...markdownIn('examples')].filter((path) =>
  existsSync(join(root, path)),
)

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function anchorsOf(path) {
  const seen = new Map()
  const anchors = new Set()
  for (const line of withoutFences(readFileSync(join(root, path), 'utf8')).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!heading) continue
    const base = heading[1]
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

/** The text outside fenced code blocks. */
function withoutFences(text) {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
}

/** The text outside fenced code blocks and inline code, where links are links. */
function withoutCode(text) {
  return withoutFences(text).replace(/`[^`\n]*`/g, '')
}

function linksOf(text) {
  const links = []
  const inline = /!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g
  const reference = /^\s*\[[^\]]+\]:\s*(\S+)/gm
  for (const pattern of [inline, reference]) for (const match of text.matchAll(pattern)) links.push(match[1])
  return links
}

const problems = []
for (const page of pages) {
  const text = withoutCode(readFileSync(join(root, page), 'utf8'))
  for (const link of linksOf(text)) {
    let target
    let fragment
    if (link.startsWith(REPOSITORY)) {
      ;[target, fragment] = decodeURI(link.slice(REPOSITORY.length)).split('#')
    } else if (/^[a-z][a-z0-9+.-]*:/i.test(link)) {
      continue // another site, or mailto:
    } else {
      const [path, hash] = decodeURI(link).split('#')
      target = path === '' ? page : normalize(join(dirname(page), path))
      fragment = hash
      if (shipped(page) && !shipped(target)) {
        problems.push(`${page}: ${link} is not in the npm package; link to ${REPOSITORY}${target} instead`)
        continue
      }
    }
    target = relative(root, join(root, target))
    if (!existsSync(join(root, target))) {
      problems.push(`${page}: ${link} names ${target}, which does not exist`)
      continue
    }
    if (fragment && target.endsWith('.md') && statSync(join(root, target)).isFile()) {
      if (!anchorsOf(target).has(fragment)) problems.push(`${page}: ${link} names no heading of ${target}`)
    }
  }
}

if (problems.length > 0) {
  console.error(`${problems.length} broken link(s):\n${problems.map((p) => `  ${p}`).join('\n')}`)
  process.exitCode = 1
} else {
  console.log(`links: ${pages.length} pages checked, all links resolve`)
}
