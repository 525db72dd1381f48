import { LabIcon } from '@jupyterlab/ui-components';

// A mortarboard, drawn in the theme's icon colour (jp-icon3) so it follows light and dark.
const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 3 1 8.5 12 14l9-4.5V16h2V8.5z"/>
    <path d="M5 12.2v4.3c0 1.9 3.1 3.5 7 3.5s7-1.6 7-3.5v-4.3L12 15.7z"/>
  </g>
</svg>`;

export const campusIcon = new LabIcon({ name: 'nbcampus:campus', svgstr: svg });
