#!/usr/bin/env python3
"""Fails when an #include runs against the layer order of cmake/layers.txt.

A file belongs to the longest layer path that prefixes it; so does the file
it includes. The include is fine when the included file's layer is the
file's own or one listed before it (lower in the house). Everything else,
upward or sideways, is reported with the file, the line and both layers.
   tools/check_layers.py [REPO]       # exit 0: clean; 1: violations; 2: usage
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_layers(repo):
    layers = []
    with open(os.path.join(repo, 'cmake', 'layers.txt')) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                layers.append(line.rstrip('/'))
    return layers


def layer_of(path, layers):
    best = None
    for i, layer in enumerate(layers):
        if path == layer or path.startswith(layer + '/'):
            if best is None or len(layer) > len(layers[best]):
                best = i
    return best


def main():
    repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..'))
    layers = read_layers(repo)
    problems = []
    checked = 0
    for top in sorted({l.split('/')[0] for l in layers}):
        for dirpath, _, names in os.walk(os.path.join(repo, top)):
            for name in sorted(names):
                if not name.endswith(('.cpp', '.hpp', '.h', '.in')):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), repo)
                mine = layer_of(path, layers)
                if mine is None:
                    continue
                checked += 1
                with open(os.path.join(repo, path), encoding='utf-8', errors='replace') as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = m.group(1)
                        theirs = layer_of(target, layers)
                        if theirs is None or theirs <= mine:
                            continue
                        problems.append(f'{path}:{number}: includes {target}: layer {layers[mine]} may not use '
                                        f'{layers[theirs]}, a higher floor (listed after it in cmake/layers.txt)')
    for p in problems:
        print(p)
    if problems:
        print(f'check_layers: {len(problems)} include(s) run upward or sideways; move the code to the layer it '
              f'belongs in, or depend on an interface below', file=sys.stderr)
        return 1
    print(f'check_layers: {checked} files, {len(layers)} layers, every include points down')
    return 0


if __name__ == '__main__':
    sys.exit(main())
