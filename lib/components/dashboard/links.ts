/**
 * The central dashboard's menu and home-page links (the `links` key of `centraldashboard-config`), built from the web
 * apps that are installed: each app contributes a {@link DashboardAppLinks}, so the menu never lists an app that is not
 * there (upstream's ConfigMap lists Notebooks, TensorBoards, Volumes, Katib, KServe and Pipelines whatever is installed).
 */

/** A page of a web app in a menu section. */
export interface DashboardMenuItem {
  /** Text of the entry. */
  readonly text: string;
  /** Path through the gateway, e.g. `/pipeline/#/runs`; the dashboard shows it in its iframe. */
  readonly link: string;
}

/** One entry of the dashboard's side menu: a single page, or a section with the pages of one app. */
export type DashboardMenuLink =
  | {
    readonly type: 'item';
    readonly text: string;
    /** Path through the gateway, e.g. `/jupyter/`. */
    readonly link: string;
    /** Icon: an iron-icons name (`book`, `device:storage`) or one of the dashboard's own (`kubeflow:katib`). */
    readonly icon: string;
  }
  | {
    readonly type: 'section';
    readonly text: string;
    /** Icon: an iron-icons name or one of the dashboard's own (`kubeflow:pipeline-centered`). */
    readonly icon: string;
    /** The app's pages, at least one. */
    readonly items: readonly DashboardMenuItem[];
  };

/** A card on the dashboard's home page: a quick link into an app, or a documentation page. */
export interface DashboardCard {
  /** Title of the card. */
  readonly text: string;
  /** One line under the title. */
  readonly desc: string;
  /** Quick links: a path through the gateway. Documentation: an `https://` URL. */
  readonly link: string;
}

/** What one installed web app adds to the dashboard. */
export interface DashboardAppLinks {
  /** Its side-menu entry. */
  readonly menu: DashboardMenuLink;
  /**
   * Quick links on the home page.
   * @default - none
   */
  readonly quickLinks?: readonly DashboardCard[];
  /**
   * Documentation cards on the home page.
   * @default - none
   */
  readonly documentation?: readonly DashboardCard[];
}

/** The Kubeflow website card every dashboard shows first among the documentation (upstream's). */
const KUBEFLOW_WEBSITE: DashboardCard = { text: 'Kubeflow Website', desc: 'The Kubeflow website', link: 'https://www.kubeflow.org/' };

/**
 * The Pipelines UI's links, served under `prefix` (upstream's: `/pipeline`): a `Pipelines` menu section with the UI's
 * pages (Pipelines, Experiments, Runs, Recurring Runs, Artifacts, Executions), quick links to upload a pipeline and to
 * the runs, and the Pipelines documentation — the entries upstream's ConfigMap has for Pipelines.
 */
export function pipelinesDashboardLinks(prefix = '/pipeline'): DashboardAppLinks {
  const base = prefix.replace(/\/+$/, '');
  const page = (fragment: string): string => `${base}/#/${fragment}`;
  return {
    menu: {
      type: 'section',
      text: 'Pipelines',
      icon: 'kubeflow:pipeline-centered',
      items: [
        { text: 'Pipelines', link: page('pipelines') },
        { text: 'Experiments', link: page('experiments') },
        { text: 'Runs', link: page('runs') },
        { text: 'Recurring Runs', link: page('recurringruns') },
        { text: 'Artifacts', link: page('artifacts') },
        { text: 'Executions', link: page('executions') },
      ],
    },
    quickLinks: [
      { text: 'Upload a Pipeline', desc: 'Kubeflow Pipelines', link: page('pipelines') },
      { text: 'View Pipeline Runs', desc: 'Pipelines', link: page('runs') },
    ],
    documentation: [
      { text: 'Kubeflow Pipelines Documentation', desc: 'Documentation for Kubeflow Pipelines', link: 'https://www.kubeflow.org/docs/components/pipelines/' },
    ],
  };
}

// A path through the gateway: starts with one `/` (never `//host`, which browsers read as another site).
const GATEWAY_PATH = /^\/(?!\/)[^\s]*$/;
const HTTPS_URL = /^https:\/\/[^\s/?#]+(\/\S*)?$/;
const ICON = /^[a-z0-9-]+(:[a-z0-9-]+)?$/;
const TEXT_MAX = 100;

function checkText(where: string, text: string): void {
  // eslint-disable-next-line no-control-regex
  if (text.trim().length === 0 || text.length > TEXT_MAX || /[\u0000-\u001f]/.test(text)) {
    throw new Error(`${where}: text "${text}" must be 1-${TEXT_MAX} characters on one line`);
  }
}

function checkPath(where: string, link: string): void {
  if (!GATEWAY_PATH.test(link)) throw new Error(`${where}: link "${link}" must be a path through the gateway starting with /, e.g. /pipeline/#/runs`);
}

function checkIcon(where: string, icon: string): void {
  if (!ICON.test(icon)) throw new Error(`${where}: icon "${icon}" must be an icon name such as book, device:storage or kubeflow:katib`);
}

/** Throws, saying what to change, when `app`'s links cannot be shown. */
export function checkAppLinks(where: string, app: DashboardAppLinks): void {
  const menu = app.menu;
  const at = `${where} menu "${menu.text}"`;
  checkText(at, menu.text);
  checkIcon(at, menu.icon);
  switch (menu.type) {
    case 'item':
      checkPath(at, menu.link);
      break;
    case 'section':
      if (menu.items.length === 0) throw new Error(`${at}: a section needs at least one item; use type item for a single page`);
      for (const item of menu.items) {
        checkText(`${at} item`, item.text);
        checkPath(`${at} item "${item.text}"`, item.link);
      }
      break;
    default:
      throw new Error(`${at}: type "${(menu as { type: string }).type}" must be item or section`);
  }
  for (const card of app.quickLinks ?? []) {
    checkText(`${at} quick link`, card.text);
    checkText(`${at} quick link "${card.text}" desc`, card.desc);
    checkPath(`${at} quick link "${card.text}"`, card.link);
  }
  for (const card of app.documentation ?? []) {
    checkText(`${at} documentation`, card.text);
    checkText(`${at} documentation "${card.text}" desc`, card.desc);
    if (!HTTPS_URL.test(card.link)) throw new Error(`${at} documentation "${card.text}": link "${card.link}" must be an https:// URL`);
  }
}

/** Throws when two apps have the same menu text (the dashboard would show two indistinguishable entries). */
export function checkDistinctMenus(where: string, apps: readonly DashboardAppLinks[]): void {
  const seen = new Set<string>();
  for (const app of apps) {
    if (seen.has(app.menu.text)) throw new Error(`${where}: two apps have the menu entry "${app.menu.text}"; each installed app adds its links once`);
    seen.add(app.menu.text);
  }
}

/** The `links` document the dashboard reads (`menuLinks`, `externalLinks`, `quickLinks`, `documentationItems`), as JSON. */
export function linksDocument(apps: readonly DashboardAppLinks[]): string {
  const card = (c: DashboardCard): Record<string, string> => ({ text: c.text, desc: c.desc, link: c.link });
  const menuLinks = apps.map(({ menu }) => (menu.type === 'item'
    ? { type: 'item', text: menu.text, link: menu.link, icon: menu.icon }
    : { type: 'section', text: menu.text, icon: menu.icon, items: menu.items.map((i) => ({ type: 'item', text: i.text, link: i.link })) }));
  const doc = {
    menuLinks,
    externalLinks: [],
    quickLinks: apps.flatMap((a) => (a.quickLinks ?? []).map(card)),
    documentationItems: [KUBEFLOW_WEBSITE, ...apps.flatMap((a) => a.documentation ?? [])].map(card),
  };
  return `${JSON.stringify(doc, undefined, 2)}\n`;
}
